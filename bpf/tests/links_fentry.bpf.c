// fentry/fexit on the getppid() syscall, counting calls of the tgid in
// targ[0] (hits[0] entries, hits[1] exits). The kernel here refuses to load
// them (trampolines are blocked), which pybpf must report clearly; vmtests
// kernels run them (tests/kernel/test_links_vm.py).
#include "links_hits.h"
#include <bpf/bpf_tracing.h>

SEC("fentry/__x64_sys_getppid")
int BPF_PROG(on_fentry)
{
	hit(0);
	return 0;
}

SEC("fexit/__x64_sys_getppid")
int BPF_PROG(on_fexit)
{
	hit(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
