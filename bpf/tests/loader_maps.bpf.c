// Loader corpus: BTF maps of several kinds, map-in-map with initial values,
// and a program array with initial slots.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} hash_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} percpu_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__uint(key_size, 8);
	__uint(value_size, 16);
} lru_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, 8);
	__uint(value_size, 4);
} trie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, __u32);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 32);
	__uint(map_extra, 3);
	__type(value, __u32);
} bloom SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { &inner_a, [2] = &inner_b },
};

int tail_target(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

SEC("tracepoint")
int tail_target(void *ctx)
{
	__u32 key = 1;
	__u64 one = 1;

	bpf_map_update_elem(&hash_map, &key, &one, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int use_maps(void *ctx)
{
	__u32 key = 0, *val;
	__u64 *cnt;
	void *inner;

	inner = bpf_map_lookup_elem(&outer, &key);
	if (inner) {
		val = bpf_map_lookup_elem(inner, &key);
		if (val)
			*val += 1;
	}
	cnt = bpf_map_lookup_elem(&percpu_map, &key);
	if (cnt)
		*cnt += 1;
	bpf_tail_call(ctx, &jump_table, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int touch_rest(void *ctx)
{
	__u32 v = 1, probe = 1;
	__u64 k = 0;
	struct { __u64 a, b; } lv = {};
	__u8 tkey[8] = { 32 };
	void *e;

	bpf_map_update_elem(&lru_map, &k, &lv, BPF_ANY);
	bpf_map_lookup_elem(&trie, tkey);
	bpf_map_push_elem(&queue, &v, BPF_ANY);
	bpf_map_push_elem(&bloom, &probe, BPF_ANY);  /* no peek: 7.x's liveness refuses it */
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &v, sizeof(v));
	e = bpf_ringbuf_reserve(&ring, 8, 0);
	if (e)
		bpf_ringbuf_discard(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
