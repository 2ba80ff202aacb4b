// Event source for the reader tests and bench/bench_readers.py: every
// getppid() of the process whose tgid is in targ[0] emits one 64-byte
// event, to the BPF ring buffer (emit_ringbuf) or to the perf event array
// (emit_perf). Attach only one of the two programs at a time.
// stats[0] counts events emitted, stats[1] events the ring buffer refused,
// stats[2] perf outputs that failed (the kernel also reports those as lost).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct event {
	__u64 seq;
	__u64 ts;
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__u32 magic;
	char comm[16];
	__u64 arg[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} targ SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline int wanted(void)
{
	__u32 key = 0;
	__u32 *tgid = bpf_map_lookup_elem(&targ, &key);

	return tgid && *tgid && (bpf_get_current_pid_tgid() >> 32) == *tgid;
}

static __always_inline void count(__u32 key)
{
	__u64 *val = bpf_map_lookup_elem(&stats, &key);

	if (val)
		__sync_fetch_and_add(val, 1);
}

/* The sequence number: events come from one thread at a time, so a plain
 * increment is exact and keeps the object loadable before 5.12 (no atomic
 * fetch-and-add there). */
static __always_inline __u64 next_seq(void)
{
	__u32 key = 0;
	__u64 *val = bpf_map_lookup_elem(&stats, &key);
	__u64 seq;

	if (!val)
		return 0;
	seq = *val;
	*val = seq + 1;
	return seq;
}

static __always_inline void fill(struct event *e, __u64 seq)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->seq = seq;
	e->ts = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->cpu = bpf_get_smp_processor_id();
	e->magic = 0xfeedbeef;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->arg[0] = seq * 3;
	e->arg[1] = ~seq;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int emit_ringbuf(void *ctx)
{
	struct event *e;
	__u64 seq;

	if (!wanted())
		return 0;
	seq = next_seq();
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count(1);
		return 0;
	}
	fill(e, seq);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int emit_perf(void *ctx)
{
	struct event e;
	__u64 seq;

	if (!wanted())
		return 0;
	seq = next_seq();
	fill(&e, seq);
	if (bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, &e, sizeof(e)))
		count(2);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
