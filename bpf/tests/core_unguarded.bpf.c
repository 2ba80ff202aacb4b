// CO-RE corpus: a reachable read of a field this kernel lacks. Relocation
// poisons the instruction and the verifier refuses it with
// "invalid func unknown#195896080"; tests check the error names the
// program, instruction, relocation and source line.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___fake {
	int no_such_field;
} __attribute__((preserve_access_index));

__u32 unguarded_value = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int core_unguarded(void *ctx)
{
	struct task_struct___fake *fake = (void *)bpf_get_current_task();

	unguarded_value = BPF_CORE_READ(fake, no_such_field);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
