// Loader corpus: a call to a missing __weak kfunc behind bpf_ksym_exists().
// libbpf 1.1 leaves `call` with the kfunc pseudo source and imm 0; libbpf >= 1.2
// (and pybpf) poison it into a helper call #2002000000 + the extern's index.
// Either way the verifier drops the branch as dead code: the translated
// programs agree, the tags (taken before verification) do not.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

extern void bpf_pybpf_no_such_kfunc(void) __ksym __weak;
extern void bpf_pybpf_other_missing(int x) __ksym __weak;

#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({ _Static_assert(!__builtin_constant_p(!!sym), \
				#sym " should be marked as __weak"); !!sym; })
#endif

__u64 calls;

SEC("tp_btf/sched_process_fork")
int weak_call(unsigned long long *ctx)
{
	if (bpf_ksym_exists(bpf_pybpf_no_such_kfunc))
		bpf_pybpf_no_such_kfunc();
	if (bpf_ksym_exists(bpf_pybpf_other_missing))
		bpf_pybpf_other_missing(1);
	calls++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
