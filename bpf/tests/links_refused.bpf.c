// Programs for hooks this machine's kernel refuses (see KERNEL.md): kprobes
// (no CONFIG_KPROBES), ksyscall (a kprobe), kprobe_multi (no CONFIG_FPROBE).
// Loading works, attaching must fail with a MissingHookError naming the hook.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("kprobe/do_nanosleep")
int on_kprobe(struct pt_regs *ctx)
{
	return 0;
}

SEC("kretprobe/do_nanosleep")
int on_kretprobe(struct pt_regs *ctx)
{
	return 0;
}

SEC("ksyscall/getppid")
int on_ksyscall(struct pt_regs *ctx)
{
	return 0;
}

SEC("kprobe.multi/do_nano*")
int on_kprobe_multi(struct pt_regs *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
