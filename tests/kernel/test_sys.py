"""pybpf.sys wrappers against the real kernel: FDs, pins, ids, info, BTF, links, stats."""
from __future__ import annotations

import errno
import os
import socket
import struct
import time

import pytest

from pybpf import errors as bsys_errors
from pybpf import features as F
from pybpf import sys as bsys
from pybpf import uapi
from pybpf.btf.types import Kind as BTFKind
from pybpf.errors import (
    BadFDError,
    ExistsError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
)
from pybpf.uapi import AttachType, LinkType, MapType, ProgType

pytestmark = pytest.mark.vm  # probes and layouts differ most between kernels


def ins(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, dst | (src << 4), off, imm)


RET0 = ins(0xb7, 0, 0, 0, 0) + ins(0x95)


def require(support: F.Support) -> None:
    """Skip the running test, with the probe's reason, when the kernel lacks a feature."""
    __tracebackhide__ = True  # -rs reports the test's line, not this one
    if not support:
        pytest.skip(str(support))


def tiny_btf(types: bytes = b"", strings: bytes = b"\0int\0") -> bytes:
    """A BTF blob: by default one 4-byte signed int named "int" (type id 1)."""
    if not types:
        types = struct.pack("<III", 1, BTFKind.INT << 24, 4) + struct.pack("<I", (1 << 24) | 32)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


def test_fd_owner_semantics():
    fd = bsys.map_create(MapType.ARRAY, 4, 4, 1)
    raw = fd.fileno()
    dup = fd.dup()
    assert dup.fileno() != raw
    assert bsys.map_info(dup).id == bsys.map_info(fd).id
    assert os.get_inheritable(dup.fileno()) is False
    with fd:
        assert int(fd) == raw
    assert fd.closed
    fd.close()  # idempotent
    with pytest.raises(BadFDError):
        fd.fileno()
    dup.close()


def test_release_gives_up_ownership():
    fd = bsys.map_create(MapType.ARRAY, 4, 4, 1)
    raw = fd.release()
    assert fd.closed
    os.fstat(raw)  # still open
    os.close(raw)


def test_pin_get_and_typed_errors(pin_dir):
    path = str(pin_dir / "m")
    with bsys.map_create(MapType.HASH, 4, 4, 2, name="pinned") as fd:
        bsys.obj_pin(fd, path)
        with pytest.raises(ExistsError) as caught:
            bsys.obj_pin(fd, path)
        assert caught.value.cmd == "BPF_OBJ_PIN" and path in str(caught.value)
        with bsys.obj_get(path) as again:
            assert bsys.map_info(again).id == bsys.map_info(fd).id
    with pytest.raises(NotFoundError):
        bsys.obj_get(str(pin_dir / "missing"))


def test_elem_wrappers_and_next_key():
    with bsys.map_create(MapType.HASH, 4, 4, 8) as fd:
        for k in (1, 2, 3):
            bsys.map_update_elem(fd, struct.pack("<I", k), struct.pack("<I", k * 10))
        out = bytearray(4)
        assert bsys.map_lookup_elem(fd, struct.pack("<I", 2), out) and out == struct.pack("<I", 20)
        assert not bsys.map_lookup_elem(fd, struct.pack("<I", 9), out)
        keys, cur, nxt = [], None, bytearray(4)
        while bsys.map_get_next_key(fd, cur, nxt):
            cur = bytes(nxt)
            keys.append(struct.unpack("<I", cur)[0])
        assert sorted(keys) == [1, 2, 3]
        assert bsys.map_delete_elem(fd, struct.pack("<I", 1))
        assert not bsys.map_delete_elem(fd, struct.pack("<I", 1))


def test_frozen_map_update_is_permission_denied():
    with bsys.map_create(MapType.ARRAY, 4, 4, 1) as fd:
        bsys.map_freeze(fd)
        with pytest.raises(PermissionDeniedError) as caught:
            bsys.map_update_elem(fd, b"\0" * 4, b"\1" * 4, detail="map 'frozen'")
        assert caught.value.errno == errno.EPERM
        assert str(caught.value).splitlines()[0].startswith("BPF_MAP_UPDATE_ELEM:")
        assert "map 'frozen'" in str(caught.value)


def test_ids_and_get_fd_by_id():
    with bsys.map_create(MapType.ARRAY, 4, 4, 1, name="byid") as fd, \
            bsys.prog_load(ProgType.SOCKET_FILTER, RET0, "GPL", name="byid") as prog:
        map_id = bsys.map_info(fd).id
        prog_id = bsys.prog_info(prog).id
        ids, cur = set(), 0
        while True:
            nxt = bsys.map_get_next_id(cur)
            if nxt is None:
                break
            ids.add(nxt)
            cur = nxt
        assert map_id in ids
        assert bsys.prog_get_next_id(prog_id - 1) is not None
        with bsys.map_get_fd_by_id(map_id) as again:
            assert bsys.map_info(again).name == "byid"
        with bsys.prog_get_fd_by_id(prog_id) as again:
            assert bsys.prog_info(again).name == "byid"
    with pytest.raises(NotFoundError) as caught:
        bsys.map_get_fd_by_id(0x7FFFFFF0)
    assert "map id" in str(caught.value)


def test_btf_load_and_info():
    with bsys.btf_load(tiny_btf()) as fd:
        info = bsys.btf_info(fd, data=True)
        assert info.id > 0 and not info.kernel_btf
        assert info.data == tiny_btf()
        assert bsys.btf_get_next_id(info.id - 1) is not None
        with bsys.btf_get_fd_by_id(info.id) as again:
            assert bsys.btf_info(again).id == info.id


def test_btf_load_error_with_log():
    bad = tiny_btf(struct.pack("<III", 1, BTFKind.INT << 24, 4) + struct.pack("<I", 99))
    log = bsys.LogBuffer(4096)
    with pytest.raises(Exception) as caught:
        bsys.btf_load(bad, log)
    assert caught.value.cmd == "BPF_BTF_LOAD"
    assert log.text  # the kernel explains the refusal


def test_vmlinux_btf_is_kernel_btf():
    require(F.has_kernel_btf_objects())
    cur = 0
    while True:
        cur = bsys.btf_get_next_id(cur)
        assert cur is not None, "no kernel BTF object found"
        try:
            fd = bsys.btf_get_fd_by_id(cur)
        except NotFoundError:
            continue  # freed between listing and opening
        with fd:
            info = bsys.btf_info(fd)
            if info.kernel_btf and info.name == "vmlinux":
                assert info.btf_size > 1 << 20
                return


def test_raw_tracepoint_link_info_and_detach():
    require(F.has_link_detach())
    with bsys.prog_load(ProgType.RAW_TRACEPOINT, RET0, "GPL", name="rawtp") as prog, \
            bsys.raw_tracepoint_open("sys_enter", prog) as link:
        info = bsys.link_info(link)
        assert info.type == LinkType.RAW_TRACEPOINT
        assert info.prog_id == bsys.prog_info(prog).id
        assert info.details["tp_name"] == "sys_enter"
        with bsys.link_get_fd_by_id(info.id) as again:
            assert bsys.link_info(again).id == info.id
        # raw_tp links cannot be detached, only closed: a typed refusal
        with pytest.raises(NotSupportedError) as caught:
            bsys.link_detach(link)
        assert caught.value.cmd == "BPF_LINK_DETACH"
    with pytest.raises(NotFoundError):
        with bsys.prog_load(ProgType.RAW_TRACEPOINT, RET0, "GPL") as prog:
            bsys.raw_tracepoint_open("no_such_tracepoint_pybpf", prog)


def test_link_create_perf_event_bad_target_is_bad_fd():
    require(F.has_link_type(LinkType.PERF_EVENT))
    with bsys.prog_load(ProgType.TRACEPOINT, RET0, "GPL") as prog:
        with pytest.raises(BadFDError) as caught:
            bsys.link_create(prog, 0x7FFF, AttachType.PERF_EVENT, bpf_cookie=7)
        assert caught.value.cmd == "BPF_LINK_CREATE"


def test_fd_leak_over_many_syscall_cycles():
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(300):
        with bsys.map_create(MapType.HASH, 4, 4, 1) as fd:
            fd.dup().close()
            bsys.map_info(fd)
        with bsys.prog_load(ProgType.SOCKET_FILTER, RET0, "GPL") as prog:
            bsys.prog_info(prog)
        with pytest.raises(PermissionDeniedError):
            bsys.prog_load(ProgType.SOCKET_FILTER, ins(0x95), "GPL")
    assert len(os.listdir("/proc/self/fd")) == before


def test_forgotten_fd_is_closed_with_resource_warning():
    import gc
    fd = bsys.map_create(MapType.ARRAY, 4, 4, 1)
    raw = fd.fileno()
    with pytest.warns(ResourceWarning, match="unclosed pybpf FD"):
        del fd
        gc.collect()
    with pytest.raises(OSError):
        os.fstat(raw)


def cgroup2_root():
    with open("/proc/self/mounts") as fh:
        for line in fh:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    return None


@pytest.fixture
def cgroup_dir(unique_name):
    root = cgroup2_root()
    if root is None:
        pytest.skip("no cgroup2 mount")
    path = os.path.join(root, unique_name("pybpf_sys_"))
    os.mkdir(path)
    yield path
    os.rmdir(path)


def test_prog_attach_query_detach_on_cgroup(cgroup_dir):
    require(F.has_link_type(LinkType.CGROUP))
    require(F.has_link_detach())
    # cgroup_skb returning 1 lets every packet through; the cgroup holds no process anyway
    ret1 = ins(0xb7, 0, 0, 0, 1) + ins(0x95)
    with bsys.prog_load(ProgType.CGROUP_SKB, ret1, "GPL", name="cgskb",
                        expected_attach_type=AttachType.CGROUP_INET_EGRESS) as prog:
        prog_id = bsys.prog_info(prog).id
        cg = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            bsys.prog_attach(cg, prog, AttachType.CGROUP_INET_EGRESS, uapi.BPF_F_ALLOW_MULTI)
            q = bsys.prog_query(cg, AttachType.CGROUP_INET_EGRESS)
            assert q.prog_ids == [prog_id]
            assert q.attach_flags == uapi.BPF_F_ALLOW_MULTI
            bsys.prog_detach(cg, AttachType.CGROUP_INET_EGRESS, prog)
            assert bsys.prog_query(cg, AttachType.CGROUP_INET_EGRESS).prog_ids == []
            with pytest.raises(NotFoundError):
                bsys.prog_detach(cg, AttachType.CGROUP_INET_EGRESS, prog)
            # the same hook as a BPF link: link_info reports the cgroup and attach type
            with bsys.link_create(prog, cg, AttachType.CGROUP_INET_EGRESS) as link:
                info = bsys.link_info(link)
                assert info.type == LinkType.CGROUP
                assert info.details["cgroup_id"] == os.stat(cgroup_dir).st_ino
                assert info.details["attach_type"] == AttachType.CGROUP_INET_EGRESS
                bsys.link_detach(link)  # cgroup links can be detached before close
                assert bsys.prog_query(cg, AttachType.CGROUP_INET_EGRESS).prog_ids == []
        finally:
            os.close(cg)


def test_tcx_link_relative_and_revision_on_lo():
    require(F.has_link_type(LinkType.TCX))
    # SCHED_CLS returning TCX_NEXT (-1) leaves every packet alone
    nxt = ins(0xb7, 0, 0, 0, -1) + ins(0x95)
    lo = socket.if_nametoindex("lo")
    with bsys.prog_load(ProgType.SCHED_CLS, nxt, "GPL", name="tcxa",
                        expected_attach_type=AttachType.TCX_INGRESS) as a, \
            bsys.prog_load(ProgType.SCHED_CLS, nxt, "GPL", name="tcxb",
                           expected_attach_type=AttachType.TCX_INGRESS) as b:
        with bsys.link_create(a, lo, AttachType.TCX_INGRESS) as la:
            info = bsys.link_info(la)
            assert info.type == LinkType.TCX and info.details["ifindex"] == lo
            rev = bsys.prog_query(lo, AttachType.TCX_INGRESS).revision
            # a stale expected_revision is refused: the union carried our value
            with pytest.raises(bsys_errors.SyscallError) as caught:
                bsys.link_create(b, lo, AttachType.TCX_INGRESS, expected_revision=rev + 100)
            assert caught.value.errno == errno.ESTALE
            # "before a" relative to a's fd
            with bsys.link_create(b, lo, AttachType.TCX_INGRESS, uapi.BPF_F_BEFORE,
                                  relative_fd=int(a), expected_revision=rev) as lb:
                ids = bsys.prog_query(lo, AttachType.TCX_INGRESS).prog_ids
                a_id, b_id = bsys.prog_info(a).id, bsys.prog_info(b).id
                assert ids.index(b_id) == ids.index(a_id) - 1
                assert bsys.link_info(lb).prog_id == b_id


def test_iterator_link_and_iter_create():
    require(F.has_link_type(LinkType.ITER))
    from pybpf.btf.types import Kind
    from pybpf.core import kernel_btf
    spec = kernel_btf()
    func = [i for i in spec.ids_by_name("bpf_iter_task") if spec.kind_of(i) == Kind.FUNC][0]
    with bsys.prog_load(ProgType.TRACING, RET0, "GPL", name="it",
                        expected_attach_type=AttachType.TRACE_ITER, attach_btf_id=func) as prog, \
            bsys.link_create(prog, 0, AttachType.TRACE_ITER) as link:
        info = bsys.link_info(link)
        assert info.type == LinkType.ITER and info.details["target_name"] == "task"
        with bsys.iter_create(link) as it:
            assert os.read(it.fileno(), 4096) == b""  # the program writes nothing


def test_enable_stats_counts_real_runs():
    require(F.has_enable_stats())
    with bsys.prog_load(ProgType.RAW_TRACEPOINT, RET0, "GPL", name="cnt") as prog, \
            bsys.enable_stats() as _stats, \
            bsys.raw_tracepoint_open("sys_enter", prog):
        for _ in range(20):
            os.getppid()
        info = bsys.prog_info(prog)
    assert info.run_cnt >= 20 and info.run_time_ns > 0


def _cookie_seen_after_switches(m) -> int:
    """Clear slot 0 of ``m``, sleep (each sleep switches tasks), return what the program wrote."""
    bsys.map_update_elem(m, b"\0" * 4, b"\0" * 8)
    out = bytearray(8)
    for _ in range(50):
        time.sleep(0.002)
        bsys.map_lookup_elem(m, b"\0" * 4, out)
        if any(out):
            break
    return struct.unpack("<Q", out)[0]


def test_tp_btf_links_carry_cookies():
    # the cookie must reach the program through both ways of attaching a tp_btf program
    require(F.has_tracing_cookie())
    target = F._vmlinux_type_id("btf_trace_sched_switch", "TYPEDEF")
    if target is None:
        pytest.skip("no btf_trace_sched_switch in kernel BTF")
    with bsys.map_create(MapType.ARRAY, 4, 8, 1) as m, \
            bsys.prog_load(ProgType.TRACING, cookie_recorder(m.fileno()), "GPL", name="tpbtf",
                           expected_attach_type=AttachType.TRACE_RAW_TP,
                           attach_btf_id=target) as prog:
        with bsys.link_create(prog, 0, AttachType.TRACE_RAW_TP, tracing_cookie=0x1234) as link:
            assert _cookie_seen_after_switches(m) == 0x1234
            assert bsys.link_info(link).details["tp_name"] == "sched_switch"
        with bsys.raw_tracepoint_open(None, prog, cookie=77) as link:
            assert _cookie_seen_after_switches(m) == 77


def test_raw_tp_link_info_reports_cookie():
    # link info learnt to report raw_tp cookies after the kernel learnt to attach them
    require(F.has_raw_tp_link_info_cookie())
    target = F._vmlinux_type_id("btf_trace_sched_switch", "TYPEDEF")
    if target is None:
        pytest.skip("no btf_trace_sched_switch in kernel BTF")
    with bsys.prog_load(ProgType.TRACING, RET0, "GPL", name="tpbtf",
                        expected_attach_type=AttachType.TRACE_RAW_TP,
                        attach_btf_id=target) as prog:
        with bsys.link_create(prog, 0, AttachType.TRACE_RAW_TP, tracing_cookie=0x1234) as link:
            assert bsys.link_info(link).details == {"tp_name": "sched_switch", "cookie": 0x1234}
        with bsys.raw_tracepoint_open(None, prog, cookie=77) as link:
            assert bsys.link_info(link).details["cookie"] == 77


def _libc_offset(symbol: str):
    """(path, file offset) of a libc function, for uprobes."""
    import ctypes.util

    from elftools.elf.elffile import ELFFile
    candidates = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6",
                  "/lib64/libc.so.6", "/usr/lib/libc.so.6"]
    path = next((p for p in candidates if os.path.exists(p)), None)
    if path is None:
        pytest.skip(f"no libc found ({ctypes.util.find_library('c')})")
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        value = elf.get_section_by_name(".dynsym").get_symbol_by_name(symbol)[0]["st_value"]
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD" and 0 <= value - seg["p_vaddr"] < seg["p_memsz"]:
                return path, value - seg["p_vaddr"] + seg["p_offset"]
    raise AssertionError(f"{symbol} is in no PT_LOAD segment of {path}")


@pytest.mark.parametrize("retprobe", [False, True])
def test_uprobe_multi_link_fires_with_its_options(retprobe):
    require(F.has_link_type(LinkType.UPROBE_MULTI))
    require(F.has_enable_stats())
    require(F.has_attach_cookie(ProgType.KPROBE))
    path, offset = _libc_offset("getpid")
    flags = uapi.BPF_F_UPROBE_MULTI_RETURN if retprobe else 0
    opts = bsys.UprobeMultiOpts(path=path, offsets=[offset], cookies=[9], pid=os.getpid(),
                                flags=flags)
    with bsys.enable_stats(), bsys.map_create(MapType.ARRAY, 4, 8, 1) as m, \
            bsys.prog_load(ProgType.KPROBE, cookie_recorder(m.fileno()), "GPL", name="umulti",
                           expected_attach_type=AttachType.TRACE_UPROBE_MULTI) as prog, \
            bsys.link_create(prog, 0, AttachType.TRACE_UPROBE_MULTI, uprobe_multi=opts) as link:
        info = bsys.link_info(link)
        assert info.type == LinkType.UPROBE_MULTI
        assert info.details == {"count": 1, "flags": flags, "pid": os.getpid()}
        for _ in range(5):
            os.getpid()  # CPython calls libc getpid()
        assert bsys.prog_info(prog).run_cnt >= 5
        out = bytearray(8)
        assert bsys.map_lookup_elem(m, b"\0" * 4, out) and struct.unpack("<Q", out)[0] == 9


def cookie_recorder(map_fd: int) -> bytes:
    """r0 = bpf_get_attach_cookie(ctx); map[0] = r0; return 0."""
    return (ins(0x85, 0, 0, 0, 174)                       # call get_attach_cookie
            + ins(0x7b, 10, 0, -8, 0)                     # *(u64 *)(r10 - 8) = r0
            + ins(0x62, 10, 0, -12, 0)                    # *(u32 *)(r10 - 12) = 0
            + ins(0x18, 1, 1, 0, map_fd) + ins(0)         # r1 = map
            + ins(0xbf, 2, 10) + ins(0x07, 2, 0, 0, -12)  # r2 = &key
            + ins(0xbf, 3, 10) + ins(0x07, 3, 0, 0, -8)   # r3 = &value
            + ins(0xb7, 4, 0, 0, 0)
            + ins(0x85, 0, 0, 0, 2)                       # map_update_elem
            + RET0)


def test_perf_event_link_cookie_reaches_the_program():
    require(F.has_link_type(LinkType.PERF_EVENT))
    require(F.has_attach_cookie(ProgType.TRACEPOINT))
    from pybpf.sys import perf
    try:
        with open("/sys/kernel/tracing/events/syscalls/sys_enter_getppid/id") as fh:
            tp_id = int(fh.read())
    except OSError:
        pytest.skip("no tracefs syscalls:sys_enter_getppid")
    spec = perf.PerfEventSpec(type=perf.PERF_TYPE_TRACEPOINT, config=tp_id, sample_period=1)
    cpu = min(os.sched_getaffinity(0))
    with bsys.map_create(MapType.ARRAY, 4, 8, 1) as m, \
            bsys.prog_load(ProgType.TRACEPOINT, cookie_recorder(m.fileno()), "GPL",
                           name="tpcookie") as prog, \
            perf.perf_event_open(spec, pid=-1, cpu=cpu) as pfd, \
            bsys.link_create(prog, pfd, AttachType.PERF_EVENT, bpf_cookie=0xC00C1E) as link:
        info = bsys.link_info(link)
        assert info.type == LinkType.PERF_EVENT
        old = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpu})
        try:
            os.getppid()
        finally:
            os.sched_setaffinity(0, old)
        out = bytearray(8)
        assert bsys.map_lookup_elem(m, b"\0" * 4, out)
        assert struct.unpack("<Q", out)[0] == 0xC00C1E
