// An fentry and an lsm program: the kernel refuses to load them here
// (trampolines are blocked), which pybpf must report clearly.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("fentry/do_nanosleep")
int BPF_PROG(on_fentry)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
