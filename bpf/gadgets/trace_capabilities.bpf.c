// trace_capabilities: every capability check with the capability, the
// verdict, whether the kernel audits it, the user namespace checked against
// and the system call the task was in; from the capability:cap_capable
// tracepoint, or from a kprobe and kretprobe on cap_capable() where that
// tracepoint does not exist.
//
// Audited or not (CAP_OPT_NOAUDIT) is an argument of cap_capable() but not
// of the tracepoint. There the caller tells: the kernel's few non-audit
// paths (ns_capable_noaudit, has_ns_capability_noaudit, the memory
// accounting check of security_vm_enough_memory_mm) call cap_capable()
// within two frames; user space gives their address ranges from kallsyms.
#include "gadget/common.h"
#include "gadget/filter.h"

#define NOAUDIT_RANGES 6
#define CALLER_FRAMES 3   /* cap_capable itself, then two callers */
#define CAP_OPT_NOAUDIT 2

const volatile bool targ_denied_only = false;
const volatile __s32 targ_cap = -1;   /* -1: any */
const volatile bool targ_verbose = false;  /* non-audit checks too (BCC capable -v) */
/* [start, end) of the kernel functions whose checks are not audited */
const volatile __u64 noaudit_start[NOAUDIT_RANGES] = {};
const volatile __u64 noaudit_end[NOAUDIT_RANGES] = {};

struct event {
	struct gadget_proc proc;
	__u64 timestamp;
	__s32 cap;
	__s32 ret;          /* 0: allowed, -EPERM: denied */
	__s64 syscall;      /* -1: not in a system call */
	__u32 target_userns;
	__u32 audit;        /* 1: the kernel audits this check */
};
GADGET_EVENT(struct event);

GADGET_RINGBUF(events, 1 << 20);

/* The pt_regs field holding the system call number (-1 outside one). */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR_FIELD orig_ax
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR_FIELD syscallno
#else
#error "trace_capabilities: no syscall-number field of pt_regs for this __TARGET_ARCH"
#endif

/* Whether a caller within CALLER_FRAMES is one of the non-audit paths. */
static __always_inline bool called_noaudit(void *ctx)
{
	__u64 ips[CALLER_FRAMES] = {};
	int f, k;

	if (bpf_get_stack(ctx, ips, sizeof(ips), 0) <= 0)
		return false;
	for (f = 1; f < CALLER_FRAMES; f++) {
		for (k = 0; k < NOAUDIT_RANGES; k++) {
			if (ips[f] >= noaudit_start[k] && ips[f] < noaudit_end[k])
				return true;
		}
	}
	return false;
}

static __always_inline int emit(int cap, int ret, struct user_namespace *ns, bool audit)
{
	struct event e = {};
	struct pt_regs *regs;

	gadget_fill_proc(&e.proc);
	e.timestamp = bpf_ktime_get_boot_ns();
	e.cap = cap;
	e.ret = ret;
	e.audit = audit;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	e.syscall = BPF_CORE_READ(regs, SYSCALL_NR_FIELD);
	e.target_userns = BPF_CORE_READ(ns, ns.inum);
	gadget_output(&events, &e, sizeof(e));
	return 0;
}

/* Kernels with the capability:cap_capable tracepoint (6.14+): one hook. */
SEC("tracepoint/capability/cap_capable")
int trace_cap_capable(struct trace_event_raw_cap_capable *ctx)
{
	bool audit;

	if (targ_cap >= 0 && ctx->cap != targ_cap)
		return 0;
	if (targ_denied_only && ctx->ret == 0)
		return 0;
	if (gadget_should_discard())
		return 0;
	audit = !called_noaudit(ctx);
	if (!audit && !targ_verbose)
		return 0;
	return emit(ctx->cap, ctx->ret, ctx->target_ns, audit);
}

/* Older kernels: a kprobe and a kretprobe on cap_capable(), paired per
 * thread. User space loads one form or the other, whichever hook exists. */
struct cap_call {
	struct user_namespace *ns;
	int cap;
	int audit;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct cap_call);
} cap_calls SEC(".maps");

SEC("kprobe/cap_capable")
int BPF_KPROBE(kprobe_cap_capable, const struct cred *cred, struct user_namespace *ns, int cap,
	       unsigned int opts)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct cap_call c = {.ns = ns, .cap = cap, .audit = !(opts & CAP_OPT_NOAUDIT)};

	if (targ_cap >= 0 && cap != targ_cap)
		return 0;
	if (!c.audit && !targ_verbose)
		return 0;
	if (gadget_should_discard())
		return 0;
	bpf_map_update_elem(&cap_calls, &tid, &c, BPF_ANY);
	return 0;
}

SEC("kretprobe/cap_capable")
int BPF_KRETPROBE(kretprobe_cap_capable, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct cap_call *c = bpf_map_lookup_elem(&cap_calls, &tid);

	if (!c)
		return 0;
	if (!(targ_denied_only && ret == 0))
		emit(c->cap, ret, c->ns, c->audit);
	bpf_map_delete_elem(&cap_calls, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
