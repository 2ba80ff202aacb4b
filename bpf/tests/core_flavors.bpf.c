// CO-RE corpus: flavors and things this kernel does not have. Every read of
// a missing field, type or enumerator is guarded, so its instruction is
// poisoned but unreachable and the program still loads (as with libbpf).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

// task_struct.state became __state in 5.14
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct task_struct___new {
	unsigned int __state;
} __attribute__((preserve_access_index));

// fields no kernel has, and one that exists under a different type size
struct task_struct___fake {
	int no_such_field;
	int pid;
	char no_such_array[8];
} __attribute__((preserve_access_index));

struct no_such_type___x {
	int a;
} __attribute__((preserve_access_index));

enum pid_type___fake {
	PIDTYPE_NOPE___fake = 42,
	PIDTYPE_SID___fake = 7,
};

struct core_flavors_out {
	__u32 hits;
	__u32 state;
	__u32 used_new;
	__u32 fake_exists;
	__u32 fake_value;
	__u32 fake_pid;
	__u32 array_exists;
	__u32 type_exists;
	__u32 type_size;
	__u32 enum_nope_exists;
	__u32 enum_nope;
	__u32 enum_sid;
};

struct core_flavors_out flav = {};
const volatile __u32 targ_tgid = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int core_flavors(void *ctx)
{
	void *task = (void *)bpf_get_current_task();
	struct task_struct___fake *fake = task;

	if ((bpf_get_current_pid_tgid() >> 32) != targ_tgid)
		return 0;
	flav.hits++;
	if (bpf_core_field_exists(((struct task_struct___new *)task)->__state)) {
		flav.used_new = 1;
		flav.state = BPF_CORE_READ((struct task_struct___new *)task, __state);
	} else {
		flav.state = BPF_CORE_READ((struct task_struct___old *)task, state);
	}
	flav.fake_exists = bpf_core_field_exists(fake->no_such_field);
	if (flav.fake_exists)
		flav.fake_value = BPF_CORE_READ(fake, no_such_field);
	flav.fake_pid = BPF_CORE_READ(fake, pid);
	flav.array_exists = bpf_core_field_exists(fake->no_such_array[2]);
	flav.type_exists = bpf_core_type_exists(struct no_such_type___x);
	flav.type_size = bpf_core_type_size(struct no_such_type___x);
	flav.enum_nope_exists = bpf_core_enum_value_exists(enum pid_type___fake, PIDTYPE_NOPE___fake);
	if (flav.enum_nope_exists)
		flav.enum_nope = bpf_core_enum_value(enum pid_type___fake, PIDTYPE_NOPE___fake);
	flav.enum_sid = bpf_core_enum_value(enum pid_type___fake, PIDTYPE_SID___fake);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
