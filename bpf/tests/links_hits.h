/* The counters of the kprobe/fentry link tests (links_probes, links_kmulti,
 * links_fentry): hit(K) adds one to hits[K] when the caller's tgid is the
 * one user space put in targ[0].
 */
#ifndef __LINKS_HITS_H
#define __LINKS_HITS_H

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

#endif
