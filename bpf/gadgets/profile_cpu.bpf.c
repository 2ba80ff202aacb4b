// profile_cpu: sampled on-CPU stacks. Runs on every tick of a software
// CPU-clock perf event; counts (process, user stack, kernel stack) triples,
// the stacks themselves kept in a stack trace map. The first user stack of
// each process also sends its tgid to `new_tgids`, so user space reads the
// process's memory maps while it runs (its frames resolve after it exits).
#include "gadget/common.h"
#include "gadget/filter.h"

#define MAX_STACK_DEPTH 127

struct sample_key {
	struct gadget_proc proc;
	__s32 user_stack_id;    // negative: no user stack (kernel thread, or not asked)
	__s32 kernel_stack_id;  // negative: no kernel stack (or not asked)
};

const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile bool include_idle = false;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sample_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} seen_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} new_tgids SEC(".maps");

static __always_inline void announce(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 yes = 1;

	if (!bpf_map_update_elem(&seen_tgids, &tgid, &yes, BPF_NOEXIST))
		bpf_ringbuf_output(&new_tgids, &tgid, sizeof(tgid), 0);
}

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
	struct sample_key key = {};
	__u64 one = 1, *count;

	if (!include_idle && (__u32)bpf_get_current_pid_tgid() == 0)
		return 0;
	if (gadget_should_discard())
		return 0;
	gadget_fill_proc(&key.proc);
	key.user_stack_id = user_stacks ?
		bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
	if (key.user_stack_id >= 0)
		announce();
	key.kernel_stack_id = kernel_stacks ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	count = bpf_map_lookup_elem(&counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
