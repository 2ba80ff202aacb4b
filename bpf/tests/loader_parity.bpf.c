// Loader corpus: the places where pybpf must lay code out exactly as libbpf
// does (issue #12), each checked against bpftool prog loadall.
//  - bpf_ksym_exists() of a kfunc: an ld_imm64 of the kfunc (its BTF id when
//    the kernel has it, 0 for a missing __weak one);
//  - a global function with hidden visibility, which libbpf marks static in
//    the BTF it loads (as a global, the kernel would verify it on its own and
//    refuse the store through its nullable pointer argument);
//  - subprograms reached in a nested order (libbpf appends depth first);
//  - .rodata with bpf_metadata_* variables, bound to every program, also to
//    the one that does not read it.
// Built without vmlinux.h (small BTF, reproducible): kfunc prototypes only
// need a struct of the kernel's name.
#include <linux/types.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

struct task_struct {
	int pid;
};

extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
extern void bpf_pybpf_no_such_kfunc(void) __ksym __weak;

/* libbpf >= 1.2's bpf_helpers.h has it; Debian's libbpf 1.1 headers do not. */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({ _Static_assert(!__builtin_constant_p(!!sym), \
				#sym " should be marked as __weak"); !!sym; })
#endif

const volatile int parity_knob = 3;
const char bpf_metadata_owner[] SEC(".rodata") = "pybpf-parity";

__u64 seen[8];

__attribute__((visibility("hidden"))) __noinline int hidden_store(__u64 *out, __u64 v)
{
	*out = v;	/* no NULL check: fine in the caller's context only */
	return 0;
}

static __noinline int leaf_c(int x)
{
	return x * 7 + 1;
}

static __noinline int mid_a(int x)
{
	return leaf_c(x) + 2;
}

static __noinline int mid_b(int x)
{
	return x - 5;
}

SEC("tp_btf/sched_process_fork")
int ksym_probe(unsigned long long *ctx)
{
	__u64 found = 0;

	if (bpf_ksym_exists(bpf_task_from_pid)) {
		struct task_struct *t = bpf_task_from_pid(1);

		found |= 1;
		if (t)
			bpf_task_release(t);
	}
	if (bpf_ksym_exists(bpf_pybpf_no_such_kfunc))
		found |= 2;
	hidden_store(&seen[0], found);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int nested_calls(void *ctx)
{
	/* mid_a (which calls leaf_c) is called first, mid_b second: libbpf lays
	 * out main, mid_a, leaf_c, mid_b; breadth first would be main, mid_a, mid_b, leaf_c */
	seen[1] = mid_a(parity_knob) + mid_b(parity_knob);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int no_rodata(void *ctx)
{
	hidden_store(&seen[2], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
