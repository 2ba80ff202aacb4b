// fentry/fexit on the getppid() syscall, counting calls of the tgid in
// targ[0] (hits[0] entries, hits[1] exits). The kernel here refuses to load
// them (trampolines are blocked), which pybpf must report clearly; vmtests
// kernels run them (tests/kernel/test_links_vm.py).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} targ SEC(".maps");

static __always_inline void hit(__u32 key)
{
	__u32 zero = 0, *tgid = bpf_map_lookup_elem(&targ, &zero);
	__u64 *v;

	if (!tgid || (bpf_get_current_pid_tgid() >> 32) != *tgid)
		return;
	v = bpf_map_lookup_elem(&hits, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
}

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
