// profile_blockio: log2 histogram of block I/O latency, from issue to the
// device (block_rq_issue) to completion (block_rq_complete), in microseconds
// or milliseconds, optionally one histogram per disk. The process filters
// apply to the task that started the request (block_io_start runs in the
// submitter's context); on kernels without block_io_start user space drops
// that program and sets filter_at_issue: the filters then see the task
// issuing the request, which may be a kworker dispatching the queue.
#include "gadget/common.h"
#include "gadget/filter.h"
#include "gadget/histogram.h"

struct disk_key {
	__u32 major;    // both zero when not per disk
	__u32 minor;
};

const volatile bool per_disk = false;
const volatile bool milliseconds = false;
const volatile bool filter_at_issue = false;

// LRU: requests merged into another are freed without completing
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request *);
	__type(value, __u8);
} wanted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request *);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct disk_key);
	__type(value, struct hist);
} hists SEC(".maps");

SEC("tp_btf/block_io_start")
int BPF_PROG(blk_start, struct request *rq)
{
	__u8 one = 1;

	if (!gadget_should_discard())
		bpf_map_update_elem(&wanted, &rq, &one, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(blk_issue, struct request *rq)
{
	__u64 ts = bpf_ktime_get_ns();

	if (filter_at_issue) {
		if (gadget_should_discard())
			return 0;
	} else if (!bpf_map_lookup_elem(&wanted, &rq)) {
		return 0;
	}
	bpf_map_update_elem(&starts, &rq, &ts, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(blk_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct disk_key key = {};
	__u64 *tsp, delta;

	tsp = bpf_map_lookup_elem(&starts, &rq);
	if (!tsp)
		return 0;
	if (nr_bytes < BPF_CORE_READ(rq, __data_len))
		return 0;  // a partial completion: the request goes on
	delta = (bpf_ktime_get_ns() - *tsp) / (milliseconds ? 1000000 : 1000);
	bpf_map_delete_elem(&starts, &rq);
	bpf_map_delete_elem(&wanted, &rq);
	if (per_disk) {
		key.major = BPF_CORE_READ(rq, q, disk, major);
		key.minor = BPF_CORE_READ(rq, q, disk, first_minor);
	}
	gadget_hist_add(&hists, &key, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
