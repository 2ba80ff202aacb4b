// kprobe-family programs that count getppid() calls of the tgid in targ[0],
// for tests/kernel/test_links_vm.py on kernels with kprobes (vmtests): hits[0]
// kprobe, [1] kretprobe, [2] ksyscall, [4] kretsyscall. kprobe.multi is in
// links_kmulti.bpf.c: kernels before 5.18 refuse its attach type at load.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
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

SEC("kprobe")
int on_kprobe(void *ctx)
{
	hit(0);
	return 0;
}

SEC("kretprobe")
int on_kretprobe(void *ctx)
{
	hit(1);
	return 0;
}

SEC("ksyscall/getppid")
int on_ksyscall(void *ctx)
{
	hit(2);
	return 0;
}

SEC("kretsyscall/getppid")
int on_kretsyscall(void *ctx)
{
	hit(4);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
