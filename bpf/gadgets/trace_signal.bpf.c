// trace_signal: signals sent with kill/tkill/tgkill (sender, target, signal,
// result) and, with targ_generated, every signal the kernel generates
// (signal:signal_generate: faults, SIGCHLD, timers...).
#include "gadget/common.h"
#include "gadget/filter.h"

#define KIND_KILL 1
#define KIND_TKILL 2
#define KIND_TGKILL 3
#define KIND_GENERATED 4

const volatile bool targ_generated = false;
const volatile __u32 targ_signal = 0;   /* 0: any */
const volatile bool targ_failed = false;

struct event {
	struct gadget_proc proc;    /* the sender */
	__u64 timestamp;
	char target_comm[GADGET_TASK_COMM_LEN];  /* generated signals only */
	__s32 target_pid;
	__s32 target_tid;
	__s32 sig;
	__s32 ret;
	__u32 kind;
	__s32 code;
};
GADGET_EVENT(struct event);

struct call {
	__s32 target_pid;
	__s32 target_tid;
	__s32 sig;
	__u32 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct call);
} calls SEC(".maps");

GADGET_RINGBUF(events, 1 << 20);

static __always_inline int enter_kill(__s32 pid, __s32 tid, __s32 sig, __u32 kind)
{
	__u32 me = (__u32)bpf_get_current_pid_tgid();
	struct call c = {.target_pid = pid, .target_tid = tid, .sig = sig, .kind = kind};

	if (targ_signal && sig != targ_signal)
		return 0;
	if (gadget_should_discard())
		return 0;
	bpf_map_update_elem(&calls, &me, &c, BPF_ANY);
	return 0;
}

static __always_inline int exit_kill(long ret)
{
	__u32 me = (__u32)bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&calls, &me);
	struct event e = {};

	if (!c)
		return 0;
	if (targ_failed && ret >= 0)
		goto out;
	gadget_fill_proc(&e.proc);
	e.timestamp = bpf_ktime_get_boot_ns();
	e.target_pid = c->target_pid;
	e.target_tid = c->target_tid;
	e.sig = c->sig;
	e.ret = ret;
	e.kind = c->kind;
	gadget_output(&events, &e, sizeof(e));
out:
	bpf_map_delete_elem(&calls, &me);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int trace_kill_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_kill(ctx->args[0], 0, ctx->args[1], KIND_KILL);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int trace_kill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_kill(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int trace_tkill_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_kill(0, ctx->args[0], ctx->args[1], KIND_TKILL);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int trace_tkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_kill(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int trace_tgkill_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_kill(ctx->args[0], ctx->args[1], ctx->args[2], KIND_TGKILL);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int trace_tgkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_kill(ctx->ret);
}

SEC("tracepoint/signal/signal_generate")
int trace_signal_generate(struct trace_event_raw_signal_generate *ctx)
{
	__u32 me = (__u32)bpf_get_current_pid_tgid();
	struct event e = {};

	if (!targ_generated)
		return 0;
	if (bpf_map_lookup_elem(&calls, &me))
		return 0; /* a kill syscall in flight: reported at its exit */
	if (targ_signal && ctx->sig != targ_signal)
		return 0;
	if (targ_failed && ctx->errno == 0 && ctx->result == 0 /* TRACE_SIGNAL_DELIVERED */)
		return 0;
	if (gadget_should_discard())
		return 0;
	gadget_fill_proc(&e.proc);
	e.timestamp = bpf_ktime_get_boot_ns();
	e.target_pid = ctx->pid;
	e.target_tid = ctx->group ? 0 : ctx->pid;
	e.sig = ctx->sig;
	e.ret = ctx->result;
	e.kind = KIND_GENERATED;
	e.code = ctx->code;
	bpf_probe_read_kernel_str(e.target_comm, sizeof(e.target_comm), ctx->comm);
	gadget_output(&events, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
