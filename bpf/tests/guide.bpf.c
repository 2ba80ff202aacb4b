// SPDX-License-Identifier: GPL-2.0
/* The program behind the library guide (docs/guide.md) and examples/.
 *
 * On every openat() of the processes it watches (targ_tgid, 0: all) it
 * sends an open_event whose path is a variable-length tail (only the bytes
 * the path needs are sent) to the ring buffer `events` and to the perf event
 * array `perf_events`, counts opens per process in the hash `opens` (struct
 * key, struct value), totals in the per-CPU array `totals`, and the number
 * of events sent in the global `sent`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define PATH_LEN 256

const volatile __u32 targ_tgid = 0;

struct open_event {
	__u32 pid;
	__u32 path_len;			/* bytes of path sent, NUL included */
	char comm[16];
	char path[PATH_LEN];		/* variable-length tail */
};

struct proc_key {
	__u32 tgid;
	char comm[16];
};

struct open_stats {
	__u64 opens;
	__u64 path_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct proc_key);
	__type(value, struct open_stats);
} opens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_stats);
} totals SEC(".maps");

/* puts struct open_event in the object's BTF, where user space finds it */
const struct open_event *event_type __attribute__((unused));
__u64 sent = 0;

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct open_event ev = {};
	struct open_stats one = {1, 0}, *stats;
	struct proc_key key = {};
	__u32 zero = 0, size;
	long n;

	if (targ_tgid && tgid != targ_tgid)
		return 0;
	ev.pid = tgid;
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	n = bpf_probe_read_user_str(ev.path, sizeof(ev.path), (const char *)ctx->args[1]);
	if (n < 0 || n > PATH_LEN)
		n = 0;
	ev.path_len = n;
	size = __builtin_offsetof(struct open_event, path) + (__u32)n;
	if (size > sizeof(ev))
		return 0;
	bpf_ringbuf_output(&events, &ev, size, 0);
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &ev, size);
	__sync_fetch_and_add(&sent, 1);

	key.tgid = tgid;
	__builtin_memcpy(key.comm, ev.comm, sizeof(key.comm));
	one.path_bytes = n;
	stats = bpf_map_lookup_elem(&opens, &key);
	if (stats) {
		__sync_fetch_and_add(&stats->opens, 1);
		__sync_fetch_and_add(&stats->path_bytes, n);
	} else {
		bpf_map_update_elem(&opens, &key, &one, BPF_NOEXIST);
	}
	stats = bpf_map_lookup_elem(&totals, &zero);
	if (stats) {
		stats->opens += 1;
		stats->path_bytes += n;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
