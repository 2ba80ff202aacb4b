/* Process fields and filters for a task met in an iterator (the task being
 * visited, not the current one). Mirrors gadget_fill_proc() and
 * gadget_discard_ids()/gadget_comm_matches() of gadget/common.h and
 * gadget/filter.h, which only look at the current task.
 */
#ifndef __SNAPSHOT_TASK_H
#define __SNAPSHOT_TASK_H

#include "gadget/common.h"
#include "gadget/filter.h"

static __always_inline void snapshot_fill_proc(struct gadget_proc *p, struct task_struct *task)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);

	bpf_probe_read_kernel_str(p->comm, sizeof(p->comm), task->comm);
	if (parent)
		bpf_probe_read_kernel_str(p->pcomm, sizeof(p->pcomm), parent->comm);
	p->pid = BPF_CORE_READ(task, tgid);
	p->tid = BPF_CORE_READ(task, pid);
	p->ppid = BPF_CORE_READ(parent, tgid);
	p->uid = BPF_CORE_READ(task, cred, uid.val);
	p->gid = BPF_CORE_READ(task, cred, gid.val);
	p->pad = 0;
	p->mntns_id = gadget_task_mntns(task);
	p->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

/* True when the filter constants exclude a task whose fields are in p. */
static __always_inline bool snapshot_discard(const struct gadget_proc *p)
{
	__u64 mntns = p->mntns_id;
	int i;

	if (gadget_targ_pid && p->pid != gadget_targ_pid)
		return true;
	if (gadget_targ_tid && p->tid != gadget_targ_tid)
		return true;
	if (gadget_targ_uid != (__u32)-1 && p->uid != gadget_targ_uid)
		return true;
	if (gadget_targ_gid != (__u32)-1 && p->gid != gadget_targ_gid)
		return true;
	if (gadget_filter_by_mntns && !bpf_map_lookup_elem(&gadget_mntns_filter_map, &mntns))
		return true;
	if (gadget_targ_comm[0] == '\0')
		return false;
	for (i = 0; i < GADGET_TASK_COMM_LEN; i++) {
		if (p->comm[i] != gadget_targ_comm[i])
			return true;
		if (p->comm[i] == '\0')
			break;
	}
	return false;
}

#endif /* __SNAPSHOT_TASK_H */
