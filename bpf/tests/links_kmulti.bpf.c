// A kprobe.multi program counting getppid() calls of the tgid in targ[0] in
// hits[3], for tests/kernel/test_links_vm.py (kernels with fprobe; apart from
// links_probes.bpf.c because kernels before 5.18 refuse its attach type).
#include "links_hits.h"

SEC("kprobe.multi")
int on_kprobe_multi(void *ctx)
{
	hit(3);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
