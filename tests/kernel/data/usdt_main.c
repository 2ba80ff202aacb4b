// A PIE executable with a USDT probe guarded by a semaphore. It reads N from
// stdin (so a test can attach first), fires its own probe N times with known
// arguments, calls the library probe, and prints how often the semaphore was
// raised.
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>

unsigned short pybpf_test_probe_semaphore __attribute__((section(".probes")));
void pybpf_lib_fire(long v);

int main(void)
{
	char line[32];
	long big = 0x123456789aL;
	int neg = -42, fired = 0, n;
	short s = -7;
	char c = 99;

	if (!fgets(line, sizeof(line), stdin))
		return 1;
	n = atoi(line);
	for (int i = 0; i < n; i++) {
		if (pybpf_test_probe_semaphore)
			fired++;
		STAP_PROBE5(pybpf_test, probe, big + i, neg, s, c, (long)&line[0]);
		pybpf_lib_fire(i);
	}
	printf("%d\n", fired);
	return 0;
}
