// trace_open: open/openat/openat2 with flags, mode, the file name as passed
// and, with targ_full_path, the full path of the file opened (from the new
// descriptor's struct file).
#include "gadget/common.h"
#include "gadget/filter.h"
#include "gadget/path.h"

#define NAME_MAX_LEN 256
#define OPEN_PATH_TRUNCATED 1

const volatile bool targ_full_path = false;
const volatile bool targ_failed = false;

struct event {
	struct gadget_proc proc;
	__u64 timestamp;
	__s32 ret;      /* fd, or -errno */
	__s32 dfd;
	__u32 flags;
	__u32 mode;
	__u32 path_size;
	__u32 path_flags;
	char fname[NAME_MAX_LEN];
	char path[GADGET_PATH_MAX];
};
GADGET_EVENT(struct event);

struct start {
	const char *fname;
	__s32 dfd;
	__u32 flags;
	__u32 mode;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

GADGET_RINGBUF(events, 2 << 20);

static __always_inline int enter_open(int dfd, const char *fname, __u32 flags, __u32 mode)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct start s = {.fname = fname, .dfd = dfd, .flags = flags, .mode = mode};

	if (gadget_should_discard())
		return 0;
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int exit_open(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0, n, len;
	struct start *s = bpf_map_lookup_elem(&starts, &tid);
	struct file *file;
	struct event *e;

	if (!s)
		return 0;
	if (targ_failed && ret >= 0)
		goto out;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto out;
	gadget_fill_proc(&e->proc);
	e->timestamp = bpf_ktime_get_boot_ns();
	e->ret = ret;
	e->dfd = s->dfd;
	e->flags = s->flags;
	e->mode = s->mode;
	e->path_size = 0;
	e->path_flags = 0;
	bpf_probe_read_user_str(e->fname, sizeof(e->fname), s->fname);
	if (targ_full_path && ret >= 0) {
		file = gadget_file_from_fd(ret);
		if (file) {
			n = gadget_read_path(e->path, &file->f_path);
			if (n & GADGET_PATH_TRUNCATED)
				e->path_flags |= OPEN_PATH_TRUNCATED;
			e->path_size = n & ~GADGET_PATH_TRUNCATED;
		}
	}
	len = e->path_size;
	if (len > GADGET_PATH_MAX)
		len = GADGET_PATH_MAX;
	gadget_output(&events, e, offsetof(struct event, path) + len);
out:
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int trace_open_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_open(-100 /* AT_FDCWD */, (const char *)ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_open(ctx->args[0], (const char *)ctx->args[1], ctx->args[2], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int trace_openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return enter_open(ctx->args[0], (const char *)ctx->args[1], how.flags, how.mode);
}

SEC("tracepoint/syscalls/sys_exit_open")
int trace_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int trace_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int trace_openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
