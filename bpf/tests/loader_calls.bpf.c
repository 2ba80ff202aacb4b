// Loader corpus: several programs in one section, bpf-to-bpf calls (static and
// global subprograms, transitively shared), and a bpf_loop callback.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

static __noinline __u64 square(__u64 x)
{
	return x * x;
}

static __noinline __u64 square_plus(__u64 x, __u64 y)
{
	return square(x) + y;
}

__noinline int global_add(int a, int b)
{
	return a + b + 1;
}

static int loop_cb(__u32 index, void *ctx)
{
	__u64 *sum = ctx;

	*sum += index;
	return 0;
}

static void store(__u32 key, __u64 value)
{
	__u64 *slot = bpf_map_lookup_elem(&results, &key);

	if (slot)
		*slot = value;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int first_prog(void *ctx)
{
	__u64 sum = 0;

	bpf_loop(5, loop_cb, &sum, 0);
	store(0, sum);                       /* 0+1+2+3+4 = 10 */
	store(1, square_plus(3, 1));         /* 10 */
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int second_prog(void *ctx)
{
	store(2, square(7));                 /* 49 */
	store(3, global_add(20, 21));        /* 42 */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
