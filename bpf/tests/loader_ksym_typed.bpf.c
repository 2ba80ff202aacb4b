// Loader corpus: a typed __ksym variable. vmlinux BTF describes per-CPU
// variables such as irq_stat, but this kernel has no CONFIG_KALLSYMS_ALL, so
// the verifier cannot find its address and refuses the program (both with
// libbpf and pybpf).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern const irq_cpustat_t irq_stat __ksym;

__u64 seen;

SEC("raw_tp/sys_enter")
int typed_ksym(void *ctx)
{
	const irq_cpustat_t *s = bpf_this_cpu_ptr(&irq_stat);

	seen = s->__nmi_count;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
