"""Links and readers on other kernels (vmtests): the kinds this machine
refuses (kprobes, kretprobes, ksyscall, kprobe_multi, fentry/fexit) fire
where the kernel has them, and the basic path (tracepoint + both readers,
cgroup) works on old kernels too, where tracepoints fall back to the
PERF_EVENT_IOC_SET_BPF ioctl (no BPF perf links before 5.15).

Each test asks pybpf.features what the kernel can do and skips with its
reason otherwise; here (6.18 without kprobes and trampolines) the probe
tests skip and the refusals are covered by test_links.py.
"""
from __future__ import annotations

import os
import struct

import pytest

import pybpf
from pybpf import features
from pybpf.core import kernel_btf
from pybpf.errors import MissingHookError
from pybpf.links import attach, attach_kprobe, attach_kprobe_multi, attach_tracepoint
from pybpf.links.perf_links import syscall_function
from pybpf.readers import PerfReader, RingBufReader
from pybpf.uapi import LinkType

pytestmark = pytest.mark.vm

OBJECTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bpf", "objects")
EVENT = struct.Struct("<QQIII I16sQQ")


def obj(name: str) -> str:
    return str(pybpf.arch_object(os.path.join(OBJECTS, f"{name}.bpf.o")))


def as_int(value) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "little")


def hits(coll, key: int) -> int:
    return as_int(coll.maps["hits"][key])


def need(support) -> None:
    if not support:
        pytest.skip(str(support))


def test_tracepoint_and_readers():
    """Also on kernels before 5.15, where the tracepoint link is the ioctl fallback."""
    with pybpf.load(obj("readers_events")) as coll:
        coll.maps["targ"][0] = os.getpid()
        with attach(coll.programs["emit_perf"]), PerfReader(coll.maps["pb"], pages=2) as rd:
            for _ in range(3):
                os.getppid()
            got = rd.read_batch(timeout=2, decode=EVENT)
        assert [t[0] for t in got] == [0, 1, 2]
        if features.has_ringbuf():
            with attach(coll.programs["emit_ringbuf"]), RingBufReader(coll.maps["rb"]) as rd:
                for _ in range(3):
                    os.getppid()
                got = rd.read_batch(timeout=2, decode=EVENT)
            assert [t[0] for t in got] == [3, 4, 5]


def test_kprobe_kretprobe_ksyscall_fire():
    need(features.has_kprobes())
    with pybpf.load(obj("links_probes")) as coll:
        coll.maps["targ"][0] = os.getpid()
        func = syscall_function("getppid")
        with attach_kprobe(coll.programs["on_kprobe"], func), \
                attach(coll.programs["on_kretprobe"], func=func), \
                attach(coll.programs["on_ksyscall"]) as sc, \
                attach(coll.programs["on_kretsyscall"]) as rsc:
            assert sc.kind == "kprobe" and rsc.kind == "kretprobe"
            for _ in range(3):
                os.getppid()
        assert [hits(coll, i) for i in (0, 1, 2, 4)] == [3, 3, 3, 3]


def test_legacy_kprobe_events_removed_on_close(monkeypatch):
    need(features.has_kprobes())
    from pybpf.links import perf_links, tracefs

    if not tracefs.has_events_file("kprobe"):
        pytest.skip("no tracefs kprobe_events")
    monkeypatch.setattr(perf_links, "_pmu", lambda kind: None)
    events = os.path.join(tracefs.root(), "kprobe_events")
    with pybpf.load(obj("links_probes")) as coll:
        coll.maps["targ"][0] = os.getpid()
        with attach_kprobe(coll.programs["on_kprobe"], syscall_function("getppid")):
            with open(events) as fh:
                assert any(f"pybpf_{os.getpid()}_" in line for line in fh)
            os.getppid()
        assert hits(coll, 0) == 1
    with open(events) as fh:
        assert not any(f"pybpf_{os.getpid()}_" in line for line in fh)


def test_kprobe_multi_fires():
    need(features.has_link_type(LinkType.KPROBE_MULTI))
    with pybpf.load(obj("links_kmulti")) as coll:
        coll.maps["targ"][0] = os.getpid()
        func = syscall_function("getppid")
        with attach_kprobe_multi(coll.programs["on_kprobe_multi"], symbols=[func]) as link:
            assert link.info.type == LinkType.KPROBE_MULTI
            os.getppid()
            os.getppid()
        assert hits(coll, 3) == 2


def fentry_spec():
    """links_fentry with its targets moved to a getppid function this kernel's BTF has."""
    spec = pybpf.ObjectSpec.from_file(obj("links_fentry"))
    btf = kernel_btf()
    for name in (syscall_function("getppid"), "__do_sys_getppid"):
        if btf.ids_by_name(name):
            for prog in spec.programs.values():
                prog.attach_to = name
            return spec
    pytest.skip("no getppid function in the kernel's BTF")


def test_fentry_fexit_fire():
    need(features.has_trampolines())
    with pybpf.load(fentry_spec()) as coll:
        coll.maps["targ"][0] = os.getpid()
        with coll.attach_all() as group:
            assert sorted(link.kind for link in group) == ["fentry", "fexit"]
            for _ in range(4):
                os.getppid()
        assert hits(coll, 0) == 4 and hits(coll, 1) == 4


def test_fentry_refused_clearly_where_trampolines_are_blocked():
    if features.has_trampolines():
        pytest.skip("this kernel runs trampolines")
    # Refused at load (the CI VMs: EPERM), or loaded and refused at attach
    # where the kernel has no direct-call trampolines (arm64 before 6.4).
    loaded = False
    with pytest.raises(pybpf.BPFError) as info:
        with pybpf.load(fentry_spec()) as coll:
            loaded = True
            with coll.attach_all():
                pass
    first = str(info.value).splitlines()[0]
    assert ("ENOTSUPP" in first) if loaded else ("on_fentry" in first), first


def test_tracepoint_missing_names_it_everywhere():
    with pybpf.load(obj("readers_events")) as coll:
        with pytest.raises(MissingHookError, match="nosuch/event"):
            attach_tracepoint(coll.programs["emit_perf"], "nosuch", "event")
