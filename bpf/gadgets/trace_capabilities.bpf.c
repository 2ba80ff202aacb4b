// trace_capabilities: every capability check (capability:cap_capable) with
// the capability, the verdict, the user namespace checked against and the
// system call the task was in.
#include "gadget/common.h"
#include "gadget/filter.h"

const volatile bool targ_denied_only = false;
const volatile __s32 targ_cap = -1;   /* -1: any */

struct event {
	struct gadget_proc proc;
	__u64 timestamp;
	__s32 cap;
	__s32 ret;          /* 0: allowed, -EPERM: denied */
	__s64 syscall;      /* -1: not in a system call */
	__u32 target_userns;
	__u32 pad;
};
GADGET_EVENT(struct event);

GADGET_RINGBUF(events, 1 << 20);

SEC("tracepoint/capability/cap_capable")
int trace_cap_capable(struct trace_event_raw_cap_capable *ctx)
{
	struct event e = {};
	struct pt_regs *regs;
	struct user_namespace *ns;

	if (targ_cap >= 0 && ctx->cap != targ_cap)
		return 0;
	if (targ_denied_only && ctx->ret == 0)
		return 0;
	if (gadget_should_discard())
		return 0;
	gadget_fill_proc(&e.proc);
	e.timestamp = bpf_ktime_get_boot_ns();
	e.cap = ctx->cap;
	e.ret = ctx->ret;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	e.syscall = BPF_CORE_READ(regs, orig_ax);
	ns = ctx->target_ns;
	e.target_userns = BPF_CORE_READ(ns, ns.inum);
	gadget_output(&events, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
