// kprobe-family programs that count getppid() calls of the tgid in targ[0],
// for tests/kernel/test_links_vm.py on kernels with kprobes (vmtests): hits[0]
// kprobe, [1] kretprobe, [2] ksyscall, [4] kretsyscall. kprobe.multi is in
// links_kmulti.bpf.c: kernels before 5.18 refuse its attach type at load.
#include "links_hits.h"

SEC("kprobe")
int on_kprobe(void *ctx)
{
	hit(0);
	return 0;
}

SEC("kretprobe")
int on_kretprobe(void *ctx)
{
	hit(1);
	return 0;
}

SEC("ksyscall/getppid")
int on_ksyscall(void *ctx)
{
	hit(2);
	return 0;
}

SEC("kretsyscall/getppid")
int on_kretsyscall(void *ctx)
{
	hit(4);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
