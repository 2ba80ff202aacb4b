// trace_oomkill: the OOM killer choosing a victim (oom:mark_victim, typed
// through tp_btf so the victim's task is at hand): the task that ran into
// the OOM (the "killer"), the victim and its memory in pages.
//
// The mount-namespace filter applies to the victim (the container whose
// process dies); --pid/--comm... apply to the killer.
#include "gadget/common.h"
#include "gadget/filter.h"

struct event {
	struct gadget_proc proc;      /* the task that triggered the OOM kill */
	__u64 timestamp;
	char victim_comm[GADGET_TASK_COMM_LEN];
	__u32 victim_pid;
	__u32 victim_tid;
	__u32 victim_uid;
	__u32 pad;
	__u64 victim_mntns_id;
	__u64 total_vm;     /* pages */
	__s64 rss_file;     /* pages */
	__s64 rss_anon;     /* pages */
	__s64 rss_shmem;    /* pages */
};
GADGET_EVENT(struct event);

GADGET_RINGBUF(events, 256 << 10);

SEC("tp_btf/mark_victim")
int BPF_PROG(trace_mark_victim, struct task_struct *victim, uid_t uid)
{
	struct event e = {};
	struct mm_struct *mm;

	e.victim_mntns_id = gadget_task_mntns(victim);
	if (gadget_filter_by_mntns &&
	    !bpf_map_lookup_elem(&gadget_mntns_filter_map, &e.victim_mntns_id))
		return 0;
	if (gadget_targ_pid || gadget_targ_tid || gadget_targ_uid != (__u32)-1 ||
	    gadget_targ_gid != (__u32)-1 || gadget_targ_comm[0]) {
		if (gadget_discard_ids() || !gadget_comm_matches())
			return 0;
	}
	gadget_fill_proc(&e.proc);
	e.timestamp = bpf_ktime_get_boot_ns();
	e.victim_pid = BPF_CORE_READ(victim, tgid);
	e.victim_tid = BPF_CORE_READ(victim, pid);
	e.victim_uid = uid;
	bpf_probe_read_kernel_str(e.victim_comm, sizeof(e.victim_comm), victim->comm);
	mm = BPF_CORE_READ(victim, mm);
	if (mm) {
		e.total_vm = BPF_CORE_READ(mm, total_vm);
		e.rss_file = BPF_CORE_READ(mm, rss_stat[0].count);
		e.rss_anon = BPF_CORE_READ(mm, rss_stat[1].count);
		e.rss_shmem = BPF_CORE_READ(mm, rss_stat[3].count);
	}
	gadget_output(&events, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
