// trace_exec: every execve/execveat with the full argument list, the
// executable's path, the working directory and the return code.
//
// sys_enter_* records the arguments in `execs` (keyed by tgid: a thread that
// execs takes over the thread-group leader's pid, so the exit sees the same
// key); sys_exit_* adds the result and the process as it is after the exec
// (new comm, exe path) and emits the event.
#include "gadget/common.h"
#include "gadget/filter.h"
#include "gadget/path.h"

#define ARGS_MAX 4096      /* bytes of argv kept */
#define ARGS_COUNT_MAX 64  /* arguments kept at most (--max-args) */
#define FILE_MAX 256

/* Set by user space before load: BCC execsnoop's --max-args and -x. */
const volatile __u32 targ_max_args = 20;
const volatile bool targ_fails = false;   /* report failed execs too */

#define EXEC_ARGS_TRUNCATED 1
#define EXEC_EXE_TRUNCATED 2
#define EXEC_CWD_TRUNCATED 4

struct event {
	struct gadget_proc proc;
	__u64 timestamp;
	__s32 retval;
	__u32 args_count;
	__u32 args_size;   /* bytes used in args: NUL-separated arguments */
	__u32 exe_size;    /* bytes used in exe (components leaf first) */
	__u32 cwd_size;    /* bytes used in cwd (components leaf first) */
	__u32 flags;       /* EXEC_*_TRUNCATED */
	char file[FILE_MAX];
	char exe[GADGET_PATH_MAX];
	char cwd[GADGET_PATH_MAX];
	char args[ARGS_MAX];
};
GADGET_EVENT(struct event);

/* The event being built plus room for one argument read past args[]. */
struct scratch {
	struct event e;
	char spill[ARGS_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct event);
} execs SEC(".maps");

GADGET_RINGBUF(events, 2 << 20);

static __always_inline int enter_exec(const char *filename, const char *const *argv)
{
	__u32 zero = 0, tgid, off = 0;
	struct scratch *s;
	struct event *e;
	const char *argp;
	long n;
	int i;

	if (gadget_discard_ids())
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	e = &s->e;
	e->timestamp = bpf_ktime_get_boot_ns();
	e->retval = 0;
	e->args_count = 0;
	e->exe_size = 0;
	e->cwd_size = 0;
	e->flags = 0;
	bpf_probe_read_user_str(e->file, sizeof(e->file), filename);

	for (i = 0; i < ARGS_COUNT_MAX; i++) {
		if (i >= targ_max_args)
			break;
		if (bpf_probe_read_user(&argp, sizeof(argp), &argv[i]) || !argp)
			break;
		if (off >= ARGS_MAX) {
			e->flags |= EXEC_ARGS_TRUNCATED;
			break;
		}
		n = bpf_probe_read_user_str(&e->args[off & (ARGS_MAX - 1)], ARGS_MAX, argp);
		if (n <= 0)
			break;
		off += n;
		e->args_count++;
	}
	if ((i == ARGS_COUNT_MAX || i >= targ_max_args) &&
	    !bpf_probe_read_user(&argp, sizeof(argp), &argv[i]) && argp)
		e->flags |= EXEC_ARGS_TRUNCATED;
	if (off > ARGS_MAX) {
		off = ARGS_MAX;
		e->flags |= EXEC_ARGS_TRUNCATED;
	}
	e->args_size = off;

	tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_map_update_elem(&execs, &tgid, e, BPF_ANY);
	return 0;
}

static __always_inline int exit_exec(long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task;
	struct file *exe_file;
	struct fs_struct *fs;
	struct event *e;
	__u32 n, len;

	e = bpf_map_lookup_elem(&execs, &tgid);
	if (!e)
		return 0;
	if (!gadget_comm_matches() || (ret < 0 && !targ_fails))
		goto out;
	e->retval = ret;
	gadget_fill_proc(&e->proc);
	task = (struct task_struct *)bpf_get_current_task();
	if (ret == 0) {
		exe_file = BPF_CORE_READ(task, mm, exe_file);
		if (exe_file) {
			n = gadget_read_path(e->exe, &exe_file->f_path);
			if (n & GADGET_PATH_TRUNCATED)
				e->flags |= EXEC_EXE_TRUNCATED;
			e->exe_size = n & ~GADGET_PATH_TRUNCATED;
		}
	}
	fs = BPF_CORE_READ(task, fs);
	n = gadget_read_path(e->cwd, &fs->pwd);
	if (n & GADGET_PATH_TRUNCATED)
		e->flags |= EXEC_CWD_TRUNCATED;
	e->cwd_size = n & ~GADGET_PATH_TRUNCATED;

	len = e->args_size;
	if (len > ARGS_MAX)
		len = ARGS_MAX;
	gadget_output(&events, e, offsetof(struct event, args) + len);
out:
	bpf_map_delete_elem(&execs, &tgid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int trace_execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_exec((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int trace_execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_exec((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int trace_execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_exec(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int trace_execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_exec(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
