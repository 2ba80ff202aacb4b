// uprobe.multi / uretprobe.multi programs (one link, many functions) for
// tests/kernel/test_links_uprobe_multi.py: hits[0] counts entries, hits[1] returns.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline void hit(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("uprobe.multi")
int on_entry(struct pt_regs *ctx)
{
	hit(0);
	return 0;
}

SEC("uretprobe.multi")
int on_return(struct pt_regs *ctx)
{
	hit(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
