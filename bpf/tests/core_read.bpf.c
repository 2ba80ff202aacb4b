// CO-RE corpus: field reads through pointer chains, field/type/enum queries
// and bitfields, all against this kernel's vmlinux.h. Each result lands in
// `out` (.bss) so tests compare what the program saw with /proc.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct core_read_out {
	__u32 hits;
	__u32 tgid;
	__u32 ppid;
	__u32 pid_size;
	__u32 pid_offset;
	__u32 has_pid;
	__u32 task_size;
	__u32 task_exists;
	__u32 task_matches;
	__u32 local_task_id;
	__u32 kernel_task_id;
	__u32 tgid_enum;
	__u32 has_tgid_enum;
	__u32 mnt_ns_inum;
	__u64 kernel_ctx_enum;
	__u64 blake_iv1;
	__u64 in_execve;
	__u64 reset_on_fork;
	__u64 comm_size;
	__u64 comm3_offset;
	char comm3;
	char comm[16];
};

struct core_read_out out = {};
const volatile __u32 targ_tgid = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int core_read(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	if ((bpf_get_current_pid_tgid() >> 32) != targ_tgid)
		return 0;
	out.hits++;
	out.tgid = BPF_CORE_READ(task, tgid);
	out.ppid = BPF_CORE_READ(task, real_parent, tgid);
	out.mnt_ns_inum = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	BPF_CORE_READ_STR_INTO(&out.comm, task, comm);
	bpf_core_read(&out.comm3, 1, &task->comm[3]);
	out.pid_size = bpf_core_field_size(task->pid);
	out.pid_offset = bpf_core_field_offset(struct task_struct, pid);
	out.has_pid = bpf_core_field_exists(task->pid);
	out.comm_size = bpf_core_field_size(task->comm);
	out.comm3_offset = bpf_core_field_offset(task->comm[3]);
	out.task_size = bpf_core_type_size(struct task_struct);
	out.task_exists = bpf_core_type_exists(struct task_struct);
	out.task_matches = bpf_core_type_matches(struct task_struct);
	out.local_task_id = bpf_core_type_id_local(struct task_struct);
	out.kernel_task_id = bpf_core_type_id_kernel(struct task_struct);
	out.tgid_enum = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	out.has_tgid_enum = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID);
	out.kernel_ctx_enum = bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_KERNEL);
	out.blake_iv1 = bpf_core_enum_value(enum blake2b_iv, BLAKE2B_IV1);
	out.in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	out.reset_on_fork = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	return 0;
}

struct core_direct_out {
	__u32 hits;
	__u32 pid;
	__u64 in_execve;
	__u64 frozen;
	__u64 prio;
};

struct core_direct_out direct = {};

// tp_btf gives a trusted task pointer: plain loads (LDX) carry the relocations
// and BPF_CORE_READ_BITFIELD reads bitfields without bpf_probe_read.
SEC("tp_btf/sys_enter")
int core_direct(u64 *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (task->tgid != targ_tgid)
		return 0;
	direct.hits++;
	direct.pid = task->pid;
	direct.prio = task->prio;
	direct.in_execve = BPF_CORE_READ_BITFIELD(task, in_execve);
	direct.frozen = BPF_CORE_READ_BITFIELD(task, frozen);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
