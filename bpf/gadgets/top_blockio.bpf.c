// top_blockio: block I/O per (process, device): reads, writes, bytes and time.
// A request is owned by the process that started it (block_io_start runs in
// the submitter's context); its size is read at issue, after any merge; its
// time runs from start (or issue, when block_io_start is not there) to
// completion. Partial completions add bytes; the last one counts the request.
#include "gadget/common.h"
#include "gadget/filter.h"

#define REQ_OP_MASK 0xff
#define REQ_OP_WRITE 1

struct io_key {
	__u32 pid;
	__u32 major;
	__u32 minor;
	__u32 _pad;
};

struct io_stat {
	struct gadget_proc proc;
	__u64 reads;
	__u64 writes;
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 time_ns;  // summed over the requests completed
};

struct start {
	struct gadget_proc proc;
	__u64 ts;
};

// LRU: requests merged into another are freed without completing
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request *);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct io_key);
	__type(value, struct io_stat);
} stats SEC(".maps");

static __always_inline int record_start(struct request *rq)
{
	struct start s = {};

	if (gadget_should_discard())
		return 0;
	s.ts = bpf_ktime_get_ns();
	gadget_fill_proc(&s.proc);
	bpf_map_update_elem(&starts, &rq, &s, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_io_start")
int BPF_PROG(io_start, struct request *rq)
{
	return record_start(rq);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(rq_issue, struct request *rq)
{
	// without block_io_start (or for requests started before we attached)
	// the issuing task is the best owner there is
	if (!bpf_map_lookup_elem(&starts, &rq))
		record_start(rq);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct io_key key = {};
	struct io_stat *st, fresh = {};
	struct start *s;
	bool write, last;

	s = bpf_map_lookup_elem(&starts, &rq);
	if (!s)
		return 0;
	key.pid = s->proc.pid;
	key.major = BPF_CORE_READ(rq, q, disk, major);
	key.minor = BPF_CORE_READ(rq, q, disk, first_minor);
	st = bpf_map_lookup_elem(&stats, &key);
	if (!st) {
		fresh.proc = s->proc;
		bpf_map_update_elem(&stats, &key, &fresh, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&stats, &key);
		if (!st)
			return 0;
	}
	write = (BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK) == REQ_OP_WRITE;
	// the tracepoint fires before the request is advanced: __data_len is
	// what was left before this completion
	last = nr_bytes >= BPF_CORE_READ(rq, __data_len);
	if (write)
		__sync_fetch_and_add(&st->write_bytes, nr_bytes);
	else
		__sync_fetch_and_add(&st->read_bytes, nr_bytes);
	if (!last)
		return 0;
	if (write)
		__sync_fetch_and_add(&st->writes, 1);
	else
		__sync_fetch_and_add(&st->reads, 1);
	__sync_fetch_and_add(&st->time_ns, bpf_ktime_get_ns() - s->ts);
	bpf_map_delete_elem(&starts, &rq);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
