// Loader corpus: .kconfig externs (virtual LINUX_*, bool, tristate, int,
// string, a missing __weak one), a typeless ksym from /proc/kallsyms and a
// kfunc call (bpf_task_acquire/bpf_task_release) from a tp_btf program.
// Built without vmlinux.h to keep this object's BTF small (clang orders a
// large BTF differently depending on the output path, which defeats the
// reproducible-build check). A struct is compatible with the kernel's by name
// and kind, so a stand-in task_struct is enough for the kfunc prototypes.
#include <linux/types.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

struct task_struct {
	int pid;
};

extern int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern int CONFIG_HZ __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig;
extern int CONFIG_PYBPF_NOT_A_REAL_OPTION __kconfig __weak;

extern const void bpf_task_release_dtor __ksym;   /* typeless: an address */

struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
void bpf_task_release(struct task_struct *p) __ksym;

__u64 out[8];

SEC("tracepoint/syscalls/sys_enter_getppid")
int read_kconfig(void *ctx)
{
	out[0] = LINUX_KERNEL_VERSION;
	out[1] = LINUX_HAS_SYSCALL_WRAPPER;
	out[2] = CONFIG_BPF_SYSCALL;
	out[3] = CONFIG_BPF_JIT;
	out[4] = CONFIG_HZ;
	out[5] = CONFIG_DEFAULT_HOSTNAME[1];
	out[6] = CONFIG_PYBPF_NOT_A_REAL_OPTION;
	out[7] = (__u64)&bpf_task_release_dtor;
	return 0;
}

SEC("tp_btf/sched_process_fork")
int kfunc_user(unsigned long long *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx[1];
	struct task_struct *t = bpf_task_acquire(child);

	if (t)
		bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
