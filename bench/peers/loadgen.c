/* Event storm for bench_storm.py: open() a unique (missing) file, or exec a
 * do-nothing binary with a unique argument, at a fixed rate.
 *
 *   loadgen open TAG RATE SECONDS
 *   loadgen exec TAG RATE SECONDS TARGET
 *
 * Until a byte arrives on stdin it "probes": one operation on TAG.r every
 * millisecond (open: /nonexistent/TAG.r; exec: TARGET TAG.r), so that a
 * tracer just started shows its first event as soon as it can. After the
 * byte it runs SECONDS at RATE operations per second on TAG.s.N (N counting
 * from 0), then prints "DONE ELAPSED" (operations done, seconds taken) and
 * exits. EOF on stdin before the byte: exit without a storm. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *mode, *tag, *target;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void operate(const char *name)
{
	char path[256];

	if (mode[0] == 'o') {
		int fd;

		snprintf(path, sizeof(path), "/nonexistent/%s", name);
		fd = open(path, O_RDONLY);
		if (fd >= 0)
			close(fd);
	} else {
		char *argv[] = {(char *)target, (char *)name, NULL};
		pid_t pid;

		if (posix_spawn(&pid, target, NULL, NULL, argv, environ) == 0)
			waitpid(pid, NULL, 0);
	}
}

/* 1: the start byte came; 0: stdin closed (no storm). */
static int probe(void)
{
	char probe_name[128], go;
	struct pollfd pfd = {.fd = 0, .events = POLLIN};

	snprintf(probe_name, sizeof(probe_name), "%s.r", tag);
	for (;;) {
		operate(probe_name);
		if (poll(&pfd, 1, 1) > 0)
			return read(0, &go, 1) == 1;
	}
}

int main(int argc, char **argv)
{
	double rate, seconds, start, end, t;
	unsigned long done = 0, due;
	char name[128];

	if (argc < 5 || (argv[1][0] != 'o' && argv[1][0] != 'e') ||
	    (argv[1][0] == 'e' && argc < 6)) {
		fprintf(stderr, "usage: loadgen open|exec TAG RATE SECONDS [TARGET]\n");
		return 2;
	}
	mode = argv[1];
	tag = argv[2];
	rate = atof(argv[3]);
	seconds = atof(argv[4]);
	target = argc > 5 ? argv[5] : "";
	if (!probe())
		return 0;
	start = now();
	end = start + seconds;
	for (;;) {
		t = now();
		if (t >= end)
			break;
		/* catch up to where the rate says we should be, then sleep a little */
		due = (unsigned long)((t - start) * rate) + 1;
		while (done < due) {
			snprintf(name, sizeof(name), "%s.s.%lu", tag, done);
			operate(name);
			done++;
		}
		usleep(200);
	}
	printf("%lu %.6f\n", done, now() - start);
	return 0;
}
