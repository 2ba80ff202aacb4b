// fentry/fexit on the getppid() syscall, counting calls of the tgid in
// targ[0] (hits[0] entries, hits[1] exits). The kernel here refuses to load
// them (trampolines are blocked), which pybpf must report clearly; vmtests
// kernels run them (tests/kernel/test_links_vm.py).
#include "links_hits.h"
#include <bpf/bpf_tracing.h>

/* The syscall's wrapper function is named after the architecture. */
#if defined(__TARGET_ARCH_x86)
#define SYS_GETPPID "__x64_sys_getppid"
#elif defined(__TARGET_ARCH_arm64)
#define SYS_GETPPID "__arm64_sys_getppid"
#else
#error "links_fentry: no syscall wrapper name for this __TARGET_ARCH"
#endif

SEC("fentry/" SYS_GETPPID)
int BPF_PROG(on_fentry)
{
	hit(0);
	return 0;
}

SEC("fexit/" SYS_GETPPID)
int BPF_PROG(on_fexit)
{
	hit(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
