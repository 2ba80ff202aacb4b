/* Workload for bench_readers.py: call getppid() as fast as possible (or at a
 * fixed rate) for a number of seconds, after a start byte arrives on stdin.
 *   storm SECONDS [RATE_PER_SEC]
 * Prints "calls elapsed_seconds" when done. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	double rate = argc > 2 ? atof(argv[2]) : 0.0;
	unsigned long calls = 0;
	double start, end, t;
	char go;

	if (read(0, &go, 1) != 1)
		return 1;
	start = now();
	end = start + seconds;
	for (;;) {
		for (int i = 0; i < 256; i++)
			syscall(SYS_getppid);
		calls += 256;
		t = now();
		if (t >= end)
			break;
		if (rate > 0) {
			double ahead = calls / rate - (t - start);

			if (ahead > 0)
				usleep((useconds_t)(ahead * 1e6));
		}
	}
	printf("%lu %.6f\n", calls, now() - start);
	return 0;
}
