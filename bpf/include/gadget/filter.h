/* In-kernel filtering shared by every gadget.
 *
 * User space (gadgets/common/runner.py) sets these read-only constants
 * before load and fills gadget_mntns_filter_map with the mount-namespace
 * ids of the selected containers. Unset constants filter nothing.
 */
#ifndef __GADGET_FILTER_H
#define __GADGET_FILTER_H

#include "gadget/common.h"

#define GADGET_MAX_CONTAINERS 1024

const volatile bool gadget_filter_by_mntns = false;
const volatile __u32 gadget_targ_pid = 0;          /* tgid; 0: any */
const volatile __u32 gadget_targ_tid = 0;          /* thread id; 0: any */
const volatile __u32 gadget_targ_uid = (__u32)-1;  /* -1: any */
const volatile __u32 gadget_targ_gid = (__u32)-1;  /* -1: any */
const volatile char gadget_targ_comm[GADGET_TASK_COMM_LEN] = {};  /* "": any */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GADGET_MAX_CONTAINERS);
	__type(key, __u64);   /* mount namespace inode number */
	__type(value, __u32); /* unused (1) */
} gadget_mntns_filter_map SEC(".maps");

static __always_inline bool gadget_comm_matches(void)
{
	char comm[GADGET_TASK_COMM_LEN];
	int i;

	if (gadget_targ_comm[0] == '\0')
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	for (i = 0; i < GADGET_TASK_COMM_LEN; i++) {
		if (comm[i] != gadget_targ_comm[i])
			return false;
		if (comm[i] == '\0')
			break;
	}
	return true;
}

/* Everything but the command name: true when the current task is filtered out. */
static __always_inline bool gadget_discard_ids(void)
{
	__u64 pid_tgid, uid_gid, mntns;

	if (gadget_targ_pid || gadget_targ_tid) {
		pid_tgid = bpf_get_current_pid_tgid();
		if (gadget_targ_pid && (pid_tgid >> 32) != gadget_targ_pid)
			return true;
		if (gadget_targ_tid && (__u32)pid_tgid != gadget_targ_tid)
			return true;
	}
	if (gadget_targ_uid != (__u32)-1 || gadget_targ_gid != (__u32)-1) {
		uid_gid = bpf_get_current_uid_gid();
		if (gadget_targ_uid != (__u32)-1 && (__u32)uid_gid != gadget_targ_uid)
			return true;
		if (gadget_targ_gid != (__u32)-1 && (uid_gid >> 32) != gadget_targ_gid)
			return true;
	}
	if (gadget_filter_by_mntns) {
		mntns = gadget_current_mntns();
		if (!bpf_map_lookup_elem(&gadget_mntns_filter_map, &mntns))
			return true;
	}
	return false;
}

/* True when the current task must not produce events. */
static __always_inline bool gadget_should_discard(void)
{
	return gadget_discard_ids() || !gadget_comm_matches();
}

#endif /* __GADGET_FILTER_H */
