// Loader corpus: a reachable call to a missing __weak kfunc. libbpf and pybpf
// both load it as a call the verifier refuses; pybpf's error names the kfunc.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

extern void bpf_pybpf_no_such_kfunc(int x) __ksym __weak;

SEC("tp_btf/sched_process_fork")
int weak_unguarded(unsigned long long *ctx)
{
	bpf_pybpf_no_such_kfunc(2);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
