// An lsm program: refused at load on this kernel (see links_fentry.bpf.c).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("lsm/file_open")
int BPF_PROG(on_file_open, struct file *file)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
