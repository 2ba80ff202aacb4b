// trace_mount: mount and umount, and the new mount API (fsopen, fsconfig,
// fsmount, move_mount, open_tree, mount_setattr): operation, source,
// target, file system type, flags, options, latency and result.
//
// The strings are read at the syscall's entry (into the per-thread record
// in `calls`); the exit adds the result, the latency and the process.
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct event);
} calls SEC(".maps");

GADGET_RINGBUF(events, 1 << 20);

static __always_inline struct event *begin(__u32 op)
{
	__u32 zero = 0;
	struct event *e;

	if (gadget_should_discard())
		return NULL;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return NULL;
	e->timestamp = bpf_ktime_get_boot_ns();
	e->op = op;
	e->flags = 0;
	e->fd = -1;
	e->fstype[0] = 0;
	e->source[0] = 0;
	e->target[0] = 0;
	e->data[0] = 0;
	return e;
}

static __always_inline int save(struct event *e)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&calls, &tid, e, BPF_ANY);
	return 0;
}

static __always_inline int finish(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&calls, &tid);

	if (!e)
		return 0;
	e->ret = ret;
	e->latency_ns = bpf_ktime_get_boot_ns() - e->timestamp;
	gadget_fill_proc(&e->proc);
	gadget_output(&events, e, sizeof(*e));
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

static __always_inline void ustr(char *dst, __u32 size, __u64 src)
{
	if (src)
		bpf_probe_read_user_str(dst, size, (const void *)src);
}

SEC("tracepoint/syscalls/sys_enter_mount")
int mount_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = begin(OP_MOUNT);

	if (!e)
		return 0;
	ustr(e->source, STR_MAX, ctx->args[0]);
	ustr(e->target, STR_MAX, ctx->args[1]);
	ustr(e->fstype, FSTYPE_MAX, ctx->args[2]);
	e->flags = ctx->args[3];
	ustr(e->data, STR_MAX, ctx->args[4]);
	return save(e);
}

SEC("tracepoint/syscalls/sys_enter_umount")
int umount_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = begin(OP_UMOUNT);

	if (!e)
		return 0;
	ustr(e->target, STR_MAX, ctx->args[0]);
	e->flags = ctx->args[1];
	return save(e);
}

SEC("tracepoint/syscalls/sys_enter_fsopen")
int fsopen_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = begin(OP_FSOPEN);

	if (!e)
		return 0;
	ustr(e->fstype, FSTYPE_MAX, ctx->args[0]);
	e->flags = ctx->args[1];
	return save(e);
}

SEC("tracepoint/syscalls/sys_enter_fsconfig")
int fsconfig_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 fd = ctx->args[0], cmd = ctx->args[1], key = ctx->args[2], value = ctx->args[3];
	struct event *e = begin(OP_FSCONFIG);

	if (!e)
		return 0;
	e->fd = fd;
	e->flags = cmd;                    /* the command (FSCONFIG_SET_STRING...) */
	ustr(e->data, STR_MAX, key);
	if (cmd == 1 /* FSCONFIG_SET_STRING */)
		ustr(e->source, STR_MAX, value);
	return save(e);
}

SEC("tracepoint/syscalls/sys_enter_fsmount")
int fsmount_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = begin(OP_FSMOUNT);

	if (!e)
		return 0;
	e->fd = ctx->args[0];
	e->flags = ctx->args[1] | (ctx->args[2] << 32); /* flags | attr_flags << 32 */
	return save(e);
}

SEC("tracepoint/syscalls/sys_enter_move_mount")
int move_mount_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = begin(OP_MOVE_MOUNT);

	if (!e)
		return 0;
	e->fd = ctx->args[0];
	ustr(e->source, STR_MAX, ctx->args[1]);
	ustr(e->target, STR_MAX, ctx->args[3]);
	e->flags = ctx->args[4];
	return save(e);
}

SEC("tracepoint/syscalls/sys_enter_open_tree")
int open_tree_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = begin(OP_OPEN_TREE);

	if (!e)
		return 0;
	e->fd = ctx->args[0];
	ustr(e->source, STR_MAX, ctx->args[1]);
	e->flags = ctx->args[2];
	return save(e);
}

SEC("tracepoint/syscalls/sys_enter_mount_setattr")
int mount_setattr_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = begin(OP_MOUNT_SETATTR);

	if (!e)
		return 0;
	e->fd = ctx->args[0];
	ustr(e->target, STR_MAX, ctx->args[1]);
	e->flags = ctx->args[2];
	return save(e);
}

SEC("tracepoint/syscalls/sys_exit_mount")
int mount_exit(struct trace_event_raw_sys_exit *ctx) { return finish(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_umount")
int umount_exit(struct trace_event_raw_sys_exit *ctx) { return finish(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_fsopen")
int fsopen_exit(struct trace_event_raw_sys_exit *ctx) { return finish(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_fsconfig")
int fsconfig_exit(struct trace_event_raw_sys_exit *ctx) { return finish(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_fsmount")
int fsmount_exit(struct trace_event_raw_sys_exit *ctx) { return finish(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_move_mount")
int move_mount_exit(struct trace_event_raw_sys_exit *ctx) { return finish(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_open_tree")
int open_tree_exit(struct trace_event_raw_sys_exit *ctx) { return finish(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_mount_setattr")
int mount_setattr_exit(struct trace_event_raw_sys_exit *ctx) { return finish(ctx->ret); }

char LICENSE[] SEC("license") = "GPL";
