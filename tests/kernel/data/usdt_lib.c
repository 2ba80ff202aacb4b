// A shared library with a USDT probe (no semaphore): the USDT tests attach to it by path.
#include <sys/sdt.h>
void pybpf_lib_fire(long v)
{
	STAP_PROBE5(pybpf_test, probe, v, -1, 2, 3, v * 2);
}
