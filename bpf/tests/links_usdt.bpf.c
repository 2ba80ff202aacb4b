// USDT through libbpf's own usdt.bpf.h (as libbpf-bootstrap's usdt example):
// counts CPython's python:function__entry probe per function name, for one
// process (target_pid) or all (0). BPF_USDT reads the probe's arguments
// (filename, funcname, lineno) through bpf_usdt_arg(), a hidden global
// function the loader must mark static in the BTF it loads. sdt_probe takes
// the five arguments of the tests' own probe (pybpf_test:probe, built with
// <sys/sdt.h>) and keeps their values, the argument count and the cookie.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#define NAME_LEN 32

const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[NAME_LEN]);
	__type(value, __u64);
} entries SEC(".maps");

__u64 last_lineno;
__u64 last_cookie;

SEC("usdt//usr/bin/python3.11:python:function__entry")
int BPF_USDT(function_entry, const char *filename, const char *funcname, int lineno)
{
	char name[NAME_LEN] = {};
	__u64 one = 1, *count;

	if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)
		return 0;
	bpf_probe_read_user_str(name, sizeof(name), funcname);
	count = bpf_map_lookup_elem(&entries, name);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&entries, name, &one, BPF_NOEXIST);
	last_lineno = lineno;
	last_cookie = bpf_usdt_cookie(ctx);
	return 0;
}

__s64 sdt_args[5];
__s64 sdt_arg_cnt;
__u64 sdt_cookie;
__u64 sdt_hits;

SEC("usdt")
int BPF_USDT(sdt_probe, long a, int b, short c, char d, long e)
{
	sdt_args[0] = a;
	sdt_args[1] = b;
	sdt_args[2] = c;
	sdt_args[3] = d;
	sdt_args[4] = e;
	sdt_arg_cnt = bpf_usdt_arg_cnt(ctx);
	sdt_cookie = bpf_usdt_cookie(ctx);
	__sync_fetch_and_add(&sdt_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
