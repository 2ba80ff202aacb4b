/* Shared definitions for every gadget: the process fields each event
 * carries, the lost-event counter and small helpers.
 *
 * Conventions the Python side relies on (gadgets/common/):
 *   - every event struct is named in GADGET_EVENT(struct name) so that its
 *     type reaches the object's BTF; user space decodes it from there;
 *   - a member `struct gadget_proc proc` holds the process fields,
 *     `__u64 timestamp` a CLOCK_BOOTTIME time stamp in nanoseconds;
 *   - the ring buffer is a map named `events`; failed reservations are
 *     counted in `gadget_lost_events` (one __u64 in an array map).
 */
#ifndef __GADGET_COMMON_H
#define __GADGET_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define GADGET_TASK_COMM_LEN 16

/* Keep an event type in BTF although only pointers to it appear in code. */
#define GADGET_EVENT(type) const type *gadget_event_type __attribute__((unused))

struct gadget_proc {
	char comm[GADGET_TASK_COMM_LEN];
	char pcomm[GADGET_TASK_COMM_LEN];
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 pad;
	__u64 mntns_id;
	__u64 cgroup_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gadget_lost_events SEC(".maps");

#define GADGET_RINGBUF(name, bytes)                  \
	struct {                                     \
		__uint(type, BPF_MAP_TYPE_RINGBUF);  \
		__uint(max_entries, bytes);          \
	} name SEC(".maps")

static __always_inline void gadget_count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&gadget_lost_events, &zero);

	if (lost)
		__sync_fetch_and_add(lost, 1);
}

/* Output `size` bytes of `data` to a ring buffer, counting a failure. */
static __always_inline void gadget_output(void *rb, void *data, __u64 size)
{
	if (bpf_ringbuf_output(rb, data, size, 0))
		gadget_count_lost();
}

static __always_inline __u64 gadget_task_mntns(struct task_struct *task)
{
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

static __always_inline __u64 gadget_current_mntns(void)
{
	return gadget_task_mntns((struct task_struct *)bpf_get_current_task());
}

/* Fill the process fields of the current task. */
static __always_inline void gadget_fill_proc(struct gadget_proc *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	bpf_get_current_comm(p->comm, sizeof(p->comm));
	if (parent)
		bpf_probe_read_kernel_str(p->pcomm, sizeof(p->pcomm), parent->comm);
	p->pid = pid_tgid >> 32;
	p->tid = (__u32)pid_tgid;
	p->ppid = BPF_CORE_READ(parent, tgid);
	p->uid = (__u32)uid_gid;
	p->gid = uid_gid >> 32;
	p->pad = 0;
	p->mntns_id = gadget_task_mntns(task);
	p->cgroup_id = bpf_get_current_cgroup_id();
}

/* The file behind descriptor `fd` of the current task, or NULL. */
static __always_inline struct file *gadget_file_from_fd(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0 || !fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

#endif /* __GADGET_COMMON_H */
