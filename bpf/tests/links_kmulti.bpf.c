// A kprobe.multi program counting getppid() calls of the tgid in targ[0] in
// hits[3], for tests/kernel/test_links_vm.py (kernels with fprobe; apart from
// links_probes.bpf.c because kernels before 5.18 refuse its attach type).
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

SEC("kprobe.multi")
int on_kprobe_multi(void *ctx)
{
	hit(3);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
