// trace_mount: mount and umount, and the new mount API (fsopen, fsconfig,
// fsmount, move_mount, open_tree, mount_setattr): operation, source,
// target, file system type, flags, options, latency and result.
//
// The entry records the arguments per thread (`calls`); the exit reads the
// strings, adds the result, the latency and the process.
#include "gadget/common.h"
#include "gadget/filter.h"

#define STR_MAX 256
#define FSTYPE_MAX 64

enum op {
	OP_MOUNT = 1,
	OP_UMOUNT,
	OP_FSOPEN,
	OP_FSCONFIG,
	OP_FSMOUNT,
	OP_MOVE_MOUNT,
	OP_OPEN_TREE,
	OP_MOUNT_SETATTR,
};

struct event {
	struct gadget_proc proc;
	__u64 timestamp;
	__u64 latency_ns;
	__u64 flags;
	__s64 ret;
	__s32 fd;       /* the descriptor argument (fsconfig, fsmount, move_mount...) */
	__u32 op;       /* enum op */
	char fstype[FSTYPE_MAX];
	char source[STR_MAX];
	char target[STR_MAX];
	char data[STR_MAX];   /* mount options; fsconfig's key */
};
GADGET_EVENT(struct event);

/* A call in flight: its arguments, read at the exit (the kernel has
 * faulted the strings in by then; at the entry they may not be mapped). */
struct call {
	__u64 start;
	__u64 args[5];
	__u32 op;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct call);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

GADGET_RINGBUF(events, 1 << 20);

static __always_inline int enter(struct trace_event_raw_sys_enter *ctx, __u32 op)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call c = {};

	if (gadget_should_discard())
		return 0;
	c.start = bpf_ktime_get_boot_ns();
	c.op = op;
	bpf_probe_read_kernel(c.args, sizeof(c.args), ctx->args);
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline void ustr(char *dst, __u32 size, __u64 src)
{
	if (src)
		bpf_probe_read_user_str(dst, size, (const void *)src);
}

static __always_inline int finish(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	struct call *c = bpf_map_lookup_elem(&calls, &tid);
	struct event *e;

	if (!c)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto out;
	e->timestamp = c->start;
	e->latency_ns = bpf_ktime_get_boot_ns() - c->start;
	e->ret = ret;
	e->op = c->op;
	e->fd = -1;
	e->flags = 0;
	e->fstype[0] = 0;
	e->source[0] = 0;
	e->target[0] = 0;
	e->data[0] = 0;
	switch (c->op) {
	case OP_MOUNT:  /* dev_name, dir_name, type, flags, data */
		ustr(e->source, STR_MAX, c->args[0]);
		ustr(e->target, STR_MAX, c->args[1]);
		ustr(e->fstype, FSTYPE_MAX, c->args[2]);
		e->flags = c->args[3];
		ustr(e->data, STR_MAX, c->args[4]);
		break;
	case OP_UMOUNT:  /* name, flags */
		ustr(e->target, STR_MAX, c->args[0]);
		e->flags = c->args[1];
		break;
	case OP_FSOPEN:  /* fs_name, flags */
		ustr(e->fstype, FSTYPE_MAX, c->args[0]);
		e->flags = c->args[1];
		break;
	case OP_FSCONFIG:  /* fd, cmd, key, value, aux */
		e->fd = c->args[0];
		e->flags = c->args[1];
		ustr(e->data, STR_MAX, c->args[2]);
		if (c->args[1] == 1 /* FSCONFIG_SET_STRING */)
			ustr(e->source, STR_MAX, c->args[3]);
		break;
	case OP_FSMOUNT:  /* fs_fd, flags, attr_flags */
		e->fd = c->args[0];
		e->flags = c->args[1] | (c->args[2] << 32);
		break;
	case OP_MOVE_MOUNT:  /* from_dfd, from_path, to_dfd, to_path, flags */
		e->fd = c->args[0];
		ustr(e->source, STR_MAX, c->args[1]);
		ustr(e->target, STR_MAX, c->args[3]);
		e->flags = c->args[4];
		break;
	case OP_OPEN_TREE:  /* dfd, filename, flags */
		e->fd = c->args[0];
		ustr(e->source, STR_MAX, c->args[1]);
		e->flags = c->args[2];
		break;
	case OP_MOUNT_SETATTR:  /* dfd, path, flags, uattr, usize */
		e->fd = c->args[0];
		ustr(e->target, STR_MAX, c->args[1]);
		e->flags = c->args[2];
		break;
	}
	gadget_fill_proc(&e->proc);
	gadget_output(&events, e, sizeof(*e));
out:
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

#define MOUNT_SYSCALL(name, op)                                              \
	SEC("tracepoint/syscalls/sys_enter_" #name)                          \
	int name##_enter(struct trace_event_raw_sys_enter *ctx)              \
	{                                                                    \
		return enter(ctx, op);                                       \
	}                                                                    \
	SEC("tracepoint/syscalls/sys_exit_" #name)                           \
	int name##_exit(struct trace_event_raw_sys_exit *ctx)                \
	{                                                                    \
		return finish(ctx->ret);                                     \
	}

MOUNT_SYSCALL(mount, OP_MOUNT)
MOUNT_SYSCALL(umount, OP_UMOUNT)
MOUNT_SYSCALL(fsopen, OP_FSOPEN)
MOUNT_SYSCALL(fsconfig, OP_FSCONFIG)
MOUNT_SYSCALL(fsmount, OP_FSMOUNT)
MOUNT_SYSCALL(move_mount, OP_MOVE_MOUNT)
MOUNT_SYSCALL(open_tree, OP_OPEN_TREE)
MOUNT_SYSCALL(mount_setattr, OP_MOUNT_SETATTR)

char LICENSE[] SEC("license") = "GPL";
