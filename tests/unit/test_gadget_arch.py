"""What gadgets need per architecture: syscall names, and trace_open's
openat-only hook set for architectures without open(2)."""
from __future__ import annotations

import pybpf
from pybpf.arch import target_arch
from pybpf_gadgets import trace_capabilities, trace_open
from pybpf_gadgets.common.syscalls import BY_MACHINE, GENERIC_64, X86_64


def test_generic_table_is_arm64_numbering():
    # arch/arm64 uses asm-generic/unistd.h: no open, no fork, no stat
    assert GENERIC_64[56] == "openat" and GENERIC_64[437] == "openat2"
    assert GENERIC_64[221] == "execve" and GENERIC_64[220] == "clone"
    assert GENERIC_64[200] == "bind" and GENERIC_64[161] == "sethostname"
    assert GENERIC_64[79] == "newfstatat" and GENERIC_64[25] == "fcntl"
    assert not {"open", "fork", "stat"} & set(GENERIC_64.values())
    assert not set(range(244, 260)) & set(GENERIC_64)     # each arch's own
    assert BY_MACHINE["aarch64"] is GENERIC_64 and BY_MACHINE["x86_64"] is X86_64
    assert X86_64[2] == "open" and X86_64[257] == "openat"


def test_trace_open_runs_on_openat_alone_where_open_is_missing():
    full, generic = trace_open.GADGET.hook_sets
    assert {h.target for h in full.hooks} >= {"syscalls/sys_enter_open", "syscalls/sys_exit_open"}
    assert not [h for h in generic.hooks if h.target.endswith("_open")]
    spec = pybpf.ObjectSpec.from_file(trace_open.GADGET.object_path())
    for hook_set in (full, generic):
        assert len(hook_set.programs) == len(hook_set.hooks)
        for program, hook in zip(hook_set.programs, hook_set.hooks):
            assert spec.programs[program].section == f"tracepoint/{hook.target}"


def test_kprobe_fallback_object_per_arch():
    path = trace_capabilities.GADGET.object_path()
    assert path.name == f"trace_capabilities.{target_arch()}.bpf.o"
    for machine in ("x86_64", "aarch64"):
        spec = pybpf.ObjectSpec.from_file(pybpf.arch_object(path.with_name(
            "trace_capabilities.bpf.o"), machine))
        assert "kprobe_cap_capable" in spec.programs
