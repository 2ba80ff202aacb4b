/* Reads a tracer's output for bench_storm.py without slowing it down.
 *
 *   linecount TAG
 *
 * Counts, on stdin, the lines that name TAG.s. (storm events), all lines,
 * and the events pybpf reports lost in JSON ({"type":"lost","lost":N,...}).
 * The first line naming TAG.r (a probe event) makes it print
 * "first SECONDS" (CLOCK_MONOTONIC) at once; at EOF it prints
 * "end STORM LINES LOST". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOST_KEY "{\"type\":\"lost\",\"lost\":"

static char storm_key[160], probe_key[160];
static unsigned long storm, lines, lost;
static int seen_first;

static void line(const char *text, size_t len)
{
	char saved;
	char *mut = (char *)text;

	lines++;
	saved = mut[len];
	mut[len] = '\0';
	if (strstr(text, storm_key)) {
		storm++;
	} else if (!strncmp(text, LOST_KEY, sizeof(LOST_KEY) - 1)) {
		lost += strtoul(text + sizeof(LOST_KEY) - 1, NULL, 10);
	} else if (!seen_first && strstr(text, probe_key)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		seen_first = 1;
		printf("first %.6f\n", ts.tv_sec + ts.tv_nsec / 1e9);
		fflush(stdout);
	}
	mut[len] = saved;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	size_t have = 0;
	ssize_t n;

	if (argc < 2) {
		fprintf(stderr, "usage: linecount TAG\n");
		return 2;
	}
	snprintf(storm_key, sizeof(storm_key), "%s.s.", argv[1]);
	snprintf(probe_key, sizeof(probe_key), "%s.r", argv[1]);
	while ((n = read(0, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *start = buf, *end = buf + have + n, *nl;

		while ((nl = memchr(start, '\n', end - start))) {
			line(start, nl - start);
			start = nl + 1;
		}
		have = end - start;
		if (have == sizeof(buf) - 1) {  /* a line longer than the buffer: count it cut */
			line(buf, have);
			have = 0;
		} else {
			memmove(buf, start, have);
		}
	}
	if (have)
		line(buf, have);
	printf("end %lu %lu %lu\n", storm, lines, lost);
	return 0;
}
