// Loader corpus: a program the verifier must reject (reads past the end of a
// map value), next to a correct one.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} small SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int fine_prog(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int out_of_bounds(void *ctx)
{
	__u32 key = 0;
	__u32 *v = bpf_map_lookup_elem(&small, &key);

	if (!v)
		return 0;
	return *(volatile __u64 *)(v + 4);
}

char LICENSE[] SEC("license") = "GPL";
