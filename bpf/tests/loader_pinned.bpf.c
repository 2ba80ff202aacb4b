// Loader corpus: a LIBBPF_PIN_BY_NAME map shared between loads, and an
// optional program (SEC("?...")) the verifier refuses, to test that a failed
// load removes the pins it made.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pybpf_shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} private_map SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_shared(void *ctx)
{
	__u32 key = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&pybpf_shared, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&pybpf_shared, &key, &one, BPF_ANY);
	return 0;
}

SEC("?tracepoint/syscalls/sys_enter_getppid")
int broken(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&private_map, &key);

	return *v;  /* no NULL check: refused */
}

char LICENSE[] SEC("license") = "GPL";
