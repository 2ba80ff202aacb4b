"""The SEC() table: program type, attach type, target, flags and auto-attach per section name."""
from __future__ import annotations

import pytest

from pybpf.elf import SECTION_DEFS, find_sec_def
from pybpf.uapi import AttachType as A
from pybpf.uapi import ProgFlags
from pybpf.uapi import ProgType as P

CASES = [
    # section, prog type, expected attach type, target, auto-attach method, sleepable
    ("tp/syscalls/sys_enter_open", P.TRACEPOINT, 0, "syscalls/sys_enter_open", "tracepoint", False),
    ("tracepoint/sched/sched_switch", P.TRACEPOINT, 0, "sched/sched_switch", "tracepoint", False),
    ("raw_tp/sys_enter", P.RAW_TRACEPOINT, 0, "sys_enter", "raw_tp", False),
    ("raw_tracepoint/sys_exit", P.RAW_TRACEPOINT, 0, "sys_exit", "raw_tp", False),
    ("raw_tp.w/bpf_test_finish", P.RAW_TRACEPOINT_WRITABLE, 0, "bpf_test_finish", "raw_tp", False),
    ("tp_btf/sched_process_exec", P.TRACING, A.TRACE_RAW_TP, "sched_process_exec", "tracing", False),
    ("fentry/do_unlinkat", P.TRACING, A.TRACE_FENTRY, "do_unlinkat", "tracing", False),
    ("fexit/do_unlinkat", P.TRACING, A.TRACE_FEXIT, "do_unlinkat", "tracing", False),
    ("fmod_ret/security_x", P.TRACING, A.MODIFY_RETURN, "security_x", "tracing", False),
    ("fentry.s/do_sys_open", P.TRACING, A.TRACE_FENTRY, "do_sys_open", "tracing", True),
    ("lsm/file_open", P.LSM, A.LSM_MAC, "file_open", "lsm", False),
    ("lsm.s/bprm_check", P.LSM, A.LSM_MAC, "bprm_check", "lsm", True),
    ("kprobe/do_sys_open", P.KPROBE, 0, "do_sys_open", "kprobe", False),
    ("kretprobe/do_sys_open", P.KPROBE, 0, "do_sys_open", "kprobe", False),
    ("ksyscall/openat", P.KPROBE, 0, "openat", "ksyscall", False),
    ("kretsyscall/openat", P.KPROBE, 0, "openat", "ksyscall", False),
    ("kprobe.multi/do_*", P.KPROBE, A.TRACE_KPROBE_MULTI, "do_*", "kprobe_multi", False),
    ("kretprobe.multi/do_*", P.KPROBE, A.TRACE_KPROBE_MULTI, "do_*", "kprobe_multi", False),
    ("uprobe//bin/bash:readline", P.KPROBE, 0, "/bin/bash:readline", "uprobe", False),
    ("uretprobe//bin/bash:readline", P.KPROBE, 0, "/bin/bash:readline", "uprobe", False),
    ("uprobe.s//bin/bash:readline", P.KPROBE, 0, "/bin/bash:readline", "uprobe", True),
    ("uprobe.multi//lib/libc.so.6:malloc", P.KPROBE, A.TRACE_UPROBE_MULTI,
     "/lib/libc.so.6:malloc", "uprobe_multi", False),
    ("usdt/libc:setjmp", P.KPROBE, 0, "libc:setjmp", "usdt", False),
    ("perf_event", P.PERF_EVENT, 0, "", "perf_event", False),
    ("xdp", P.XDP, A.XDP, "", "xdp", False),
    ("xdp.frags", P.XDP, A.XDP, "", "xdp", False),
    ("xdp/devmap", P.XDP, A.XDP_DEVMAP, "", None, False),
    ("tc", P.SCHED_CLS, 0, "", None, False),
    ("tc/ingress", P.SCHED_CLS, A.TCX_INGRESS, "", "tcx", False),
    ("tcx/egress", P.SCHED_CLS, A.TCX_EGRESS, "", "tcx", False),
    ("classifier", P.SCHED_CLS, 0, "", None, False),
    ("action", P.SCHED_ACT, 0, "", None, False),
    ("socket", P.SOCKET_FILTER, 0, "", "socket", False),
    ("sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT, "", None, False),
    ("cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS, "", "cgroup", False),
    ("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS, "", "cgroup", False),
    ("cgroup/skb", P.CGROUP_SKB, 0, "", None, False),
    ("cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, "", "cgroup", False),
    ("cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE, "", "cgroup", False),
    ("cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND, "", "cgroup", False),
    ("cgroup/connect4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT, "", "cgroup", False),
    ("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT, "", "cgroup", False),
    ("cgroup/bind4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND, "", "cgroup", False),
    ("cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG, "", "cgroup", False),
    ("cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG, "", "cgroup", False),
    ("cgroup/getpeername4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME, "", "cgroup", False),
    ("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT, "", "cgroup", False),
    ("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT, "", "cgroup", False),
    ("cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL, "", "cgroup", False),
    ("cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE, "", "cgroup", False),
    ("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT, "", None, False),
    ("sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER, "", None, False),
    ("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT, "", None, False),
    ("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP, "", None, False),
    ("lwt_in", P.LWT_IN, 0, "", None, False),
    ("lwt_xmit", P.LWT_XMIT, 0, "", None, False),
    ("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, "", None, False),
    ("netfilter", P.NETFILTER, A.NETFILTER, "", None, False),
    ("iter/task", P.TRACING, A.TRACE_ITER, "task", "iter", False),
    ("iter.s/task_file", P.TRACING, A.TRACE_ITER, "task_file", "iter", True),
    ("syscall", P.SYSCALL, 0, "", None, True),
    ("struct_ops/dctcp_init", P.STRUCT_OPS, 0, "dctcp_init", None, False),
    ("freplace/handler", P.EXT, 0, "handler", "tracing", False),
]


@pytest.mark.parametrize("section,ptype,atype,target,attach,sleepable", CASES)
def test_section(section, ptype, atype, target, attach, sleepable):
    row = find_sec_def(section)
    assert row is not None, section
    assert row.prog_type == ptype
    assert row.expected_attach_type == atype
    assert row.target(section) == target
    assert row.attach == attach
    assert row.sleepable == sleepable
    assert bool(row.prog_flags & ProgFlags.SLEEPABLE) == sleepable


@pytest.mark.parametrize("section", ["", "tracepointx", "xdpfoo", "kprobe_foo", "cgroup",
                                     "sockets", "tc/other", "maps", ".text"])
def test_unknown(section):
    assert find_sec_def(section) is None


def test_retprobe_and_frags_flags():
    assert find_sec_def("kretprobe/x").retprobe and not find_sec_def("kprobe/x").retprobe
    assert find_sec_def("uretprobe.s//b:f").retprobe
    assert find_sec_def("xdp.frags").prog_flags & ProgFlags.XDP_HAS_FRAGS


@pytest.mark.parametrize("section,expected", [
    ("tp_btf/sched_switch", ("btf_trace_sched_switch", "typedef")),
    ("fentry/do_unlinkat", ("do_unlinkat", "func")),
    ("lsm/file_open", ("bpf_lsm_file_open", "func")),
    ("iter/task", ("bpf_iter_task", "func")),
    ("tracepoint/a/b", None),
    ("freplace/x", None),
])
def test_btf_target(section, expected):
    row = find_sec_def(section)
    assert row.btf_target(row.target(section)) == expected


def test_every_row_reachable():
    """No row is shadowed by an earlier one for its own base name."""
    for row in SECTION_DEFS:
        name = row.pattern.rstrip("+")
        probe = name + "x" if row.pattern.endswith("/") else name
        assert find_sec_def(probe) is row, row.pattern
