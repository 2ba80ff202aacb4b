// Loader corpus: global data in .data, .bss, .rodata and custom .data.foo /
// .rodata.bar sections, rewritable constants, and a string literal (which
// clang puts in .rodata.str1.1, a map of its own).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 targ_tgid = 0;
const volatile __s64 scale = -3;
const volatile char tag[8] = "abc";
int data_counter = 5;
__u64 bss_hits;
__u64 bss_out[4];
char bss_name[8];
static __u32 static_seen;
int foo_val SEC(".data.foo") = 7;
const volatile __u64 bar_val SEC(".rodata.bar") = 9;

SEC("tracepoint/syscalls/sys_enter_getppid")
int read_globals(void *ctx)
{
	if (targ_tgid && (bpf_get_current_pid_tgid() >> 32) != targ_tgid)
		return 0;
	__sync_fetch_and_add(&bss_hits, 1);
	data_counter++;
	static_seen = 1;
	bss_out[0] = scale;
	bss_out[1] = tag[0] + tag[1] + tag[2];
	bss_out[2] = foo_val;
	bss_out[3] = bar_val;
	bpf_probe_read_kernel_str(bss_name, sizeof(bss_name), "pybpf");
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
