/* Force-included when building sigsnoop.bpf.c (tests/corpus/build_libbpf_tools.sh):
 * libbpf >= 1.2 headers declare these, Debian's libbpf 1.1 headers do not. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({ _Static_assert(!__builtin_constant_p(!!sym), #sym " should be marked as __weak"); !!sym; })
#endif
extern struct task_struct *bpf_task_from_pid(s32 pid) __attribute__((weak)) __attribute__((section(".ksyms")));
extern void bpf_task_release(struct task_struct *p) __attribute__((weak)) __attribute__((section(".ksyms")));
