"""What the running kernel supports, probed once per process.

Each probe loads a tiny program, creates a tiny map or link, or loads a tiny
BTF blob, and caches a ``Support`` (truthy when supported, with a reason
string for ``pybpf list`` and test skips). Programs are hand-encoded 8-byte
instructions so this module depends only on pybpf.sys.
"""
from __future__ import annotations

import errno
import os
import struct
from functools import lru_cache

from pybpf.errors import ENOTSUPP, BadFDError, BPFError, SyscallError, errno_name
from pybpf.records import FrozenRecord
from pybpf.sys import commands as cmds
from pybpf.sys.fd import FD
from pybpf.sys.info import BTFInfoStruct, get_info, link_info
from pybpf.sys.syscall import kernel_release
from pybpf.sys.syscall import kernel_version_code as _version_code
from pybpf.uapi import (
    bpf_attach_type,
    bpf_link_type,
    bpf_map_flags,
    bpf_map_type,
    bpf_prog_flags,
    bpf_prog_type,
    name_of,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

    from pybpf.btf.types import Kind as BTFKind

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class Support(FrozenRecord):
    """A probe's answer: ``bool(support)`` says yes/no, ``reason`` says why."""

    __slots__ = ("ok", "reason")

    ok: bool
    reason: str

    def __init__(self, ok: bool, reason: str = "") -> None:
        object.__setattr__(self, "ok", ok)
        object.__setattr__(self, "reason", reason)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        word = "yes" if self.ok else "no"
        return f"{word} ({self.reason})" if self.reason else word


def _ins(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, dst | (src << 4), off, imm)


# r0 = 0; exit
_RET0 = _ins(0xB7) + _ins(0x95)


def _errname(err: int) -> str:
    if err == errno.EOPNOTSUPP:  # errorcode says ENOTSUP, its alias
        return "EOPNOTSUPP"
    return errno_name(err)



# ---------------------------------------------------------------- kernel version

def kernel_version() -> Tuple[int, int, int]:
    """(major, minor, patch) of the running kernel, from uname -r."""
    return kernel_release()


def kernel_version_code() -> int:
    """LINUX_VERSION_CODE of the running kernel (patch capped at 255)."""
    return _version_code()


# ---------------------------------------------------------------- kernel BTF ids

def _vmlinux_type_id(name: str, kind: str) -> Optional[int]:
    """The BTF id of the ``kind`` (e.g. "FUNC") type called ``name`` in vmlinux BTF, or None."""
    try:
        from pybpf.btf.types import Kind
        from pybpf.core import kernel_btf
        spec = kernel_btf()
    except (BPFError, OSError, ImportError):
        return None
    for type_id in spec.ids_by_name(name):
        if spec.kind_of(type_id) == Kind[kind]:
            return type_id
    return None


def _vmlinux_func_id(name: str) -> Optional[int]:
    return _vmlinux_type_id(name, "FUNC")


# ---------------------------------------------------------------- program types

# What a minimal program of each type needs besides its type.
_PROG_NEEDS: Dict[int, Dict[str, Any]] = {  # keyword arguments of prog_load
    bpf_prog_type.CGROUP_SOCK_ADDR: dict(expected_attach_type=bpf_attach_type.CGROUP_INET4_CONNECT),
    bpf_prog_type.SK_LOOKUP: dict(expected_attach_type=bpf_attach_type.SK_LOOKUP),
    bpf_prog_type.CGROUP_SOCKOPT: dict(expected_attach_type=bpf_attach_type.CGROUP_GETSOCKOPT),
    bpf_prog_type.NETFILTER: dict(expected_attach_type=bpf_attach_type.NETFILTER),
    bpf_prog_type.TRACING: dict(expected_attach_type=bpf_attach_type.TRACE_FENTRY, attach_btf_id=1),
    bpf_prog_type.LSM: dict(expected_attach_type=bpf_attach_type.LSM_MAC, attach_btf_id=1),
    bpf_prog_type.EXT: dict(attach_btf_id=1),
    bpf_prog_type.STRUCT_OPS: dict(attach_btf_id=1),
    bpf_prog_type.SYSCALL: dict(flags=bpf_prog_flags.SLEEPABLE),
}


def _load(prog_type: int, insns: bytes = _RET0, **kwargs: object) -> Tuple[Optional[int], str]:
    """Load and close a probe program: (None, log) on success, (errno, log) on failure."""
    log = cmds.LogBuffer(4096, 1)
    try:
        cmds.prog_load(prog_type, insns, "GPL", log=log, **kwargs).close()  # type: ignore[arg-type]
    except SyscallError as exc:
        return exc.errno or 0, log.text
    return None, log.text


@lru_cache(maxsize=None)
def has_prog_type(prog_type: int) -> Support:
    """Whether the kernel knows ``prog_type`` (it may still refuse some loads, e.g. EPERM)."""
    err, log = _load(prog_type, **_PROG_NEEDS.get(prog_type, {}))
    name = name_of(bpf_prog_type, prog_type)
    if err is None:
        return Support(True, f"a {name} program loads")
    if err == errno.EINVAL and not log.strip():
        return Support(False, f"the kernel does not know program type {name} (EINVAL)")
    return Support(True, f"{name} is known; the probe load said {_errname(err)}")


def _helper_probe_needs(prog_type: int) -> Optional[Dict[str, Any]]:
    """Load attributes for a helper probe of ``prog_type``; None when it cannot be probed."""
    if prog_type == bpf_prog_type.TRACING:
        # tp_btf on sched_switch: a tracing program that loads even without trampolines
        target = _vmlinux_type_id("btf_trace_sched_switch", "TYPEDEF")
        if target is None:
            return None
        return dict(expected_attach_type=bpf_attach_type.TRACE_RAW_TP, attach_btf_id=target)
    if prog_type in (bpf_prog_type.LSM, bpf_prog_type.EXT, bpf_prog_type.STRUCT_OPS):
        return None  # need a real attach target and are often refused outright
    return _PROG_NEEDS.get(prog_type, {})


@lru_cache(maxsize=None)
def has_helper(prog_type: int, helper_id: int) -> Support:
    """Whether programs of ``prog_type`` may call helper number ``helper_id``.

    Loads ``call helper; r0 = 0; exit``. A refusal naming the helper as unknown
    or not allowed means no; a refusal about its arguments means yes.
    """
    name = name_of(bpf_prog_type, prog_type)
    if not has_prog_type(prog_type):
        return Support(False, f"program type {name} is not supported")
    needs = _helper_probe_needs(prog_type)
    if needs is None:
        return Support(False, f"cannot probe helpers of {name} programs here")
    insns = _ins(0x85, 0, 0, 0, helper_id) + _RET0
    err, log = _load(prog_type, insns, **needs)
    if err is None:
        return Support(True, "the call verifies")
    for marker in ("invalid func ", "unknown func ", "program of this type cannot use helper"):
        if marker in log:
            line = next(line for line in log.splitlines() if marker in line)
            return Support(False, line.strip())
    if "(85) call" in log:
        # the verifier checked the call and refused its (unset) arguments: the helper exists
        return Support(True, f"the helper is known (probe load said {_errname(err)})")
    return Support(False, f"probe inconclusive: {name} load failed with {_errname(err)} "
                          f"before the call was checked")


# ---------------------------------------------------------------- map types

_MAP_SHAPES: Dict[int, Tuple[int, int, int, int]] = {
    # key_size, value_size, max_entries, flags
    bpf_map_type.RINGBUF: (0, 0, PAGE_SIZE, 0),
    bpf_map_type.USER_RINGBUF: (0, 0, PAGE_SIZE, 0),
    bpf_map_type.STACK_TRACE: (4, 8, 1, 0),
    bpf_map_type.LPM_TRIE: (8, 4, 1, bpf_map_flags.NO_PREALLOC),
    bpf_map_type.QUEUE: (0, 4, 1, 0),
    bpf_map_type.STACK: (0, 4, 1, 0),
    bpf_map_type.BLOOM_FILTER: (0, 4, 1, 0),
    bpf_map_type.CGROUP_STORAGE: (16, 4, 0, 0),
    bpf_map_type.PERCPU_CGROUP_STORAGE: (16, 4, 0, 0),
    bpf_map_type.SK_STORAGE: (4, 4, 0, bpf_map_flags.NO_PREALLOC),
    bpf_map_type.INODE_STORAGE: (4, 4, 0, bpf_map_flags.NO_PREALLOC),
    bpf_map_type.TASK_STORAGE: (4, 4, 0, bpf_map_flags.NO_PREALLOC),
    bpf_map_type.CGRP_STORAGE: (4, 4, 0, bpf_map_flags.NO_PREALLOC),
    bpf_map_type.ARENA: (0, 0, 1, bpf_map_flags.MMAPABLE),
}

# Local storage maps insist on BTF for their key and value.
_NEEDS_BTF = frozenset({bpf_map_type.SK_STORAGE, bpf_map_type.INODE_STORAGE, bpf_map_type.TASK_STORAGE,
                        bpf_map_type.CGRP_STORAGE})


def _int_btf() -> bytes:
    """BTF with one type: a 4-byte signed int "int" (id 1)."""
    return _btf_blob(_int_type(), _STRINGS)


@lru_cache(maxsize=None)
def has_map_type(map_type: int) -> Support:
    """Whether the kernel can create maps of ``map_type``."""
    name = name_of(bpf_map_type, map_type)
    if map_type == bpf_map_type.STRUCT_OPS:
        # a struct_ops map needs a kernel struct's value type; it came with the program type
        prog = has_prog_type(bpf_prog_type.STRUCT_OPS)
        return Support(prog.ok, "inferred from program type STRUCT_OPS")
    key, value, entries, flags = _MAP_SHAPES.get(map_type, (4, 4, 1, 0))
    extra: List[FD] = []
    kwargs: Dict[str, Any] = {}
    try:
        if map_type in (bpf_map_type.ARRAY_OF_MAPS, bpf_map_type.HASH_OF_MAPS):
            extra.append(cmds.map_create(bpf_map_type.ARRAY, 4, 4, 1))
            kwargs["inner_map_fd"] = extra[-1]
        if map_type in _NEEDS_BTF:
            extra.append(cmds.btf_load(_int_btf()))
            kwargs.update(btf_fd=extra[-1], btf_key_type_id=1, btf_value_type_id=1)
        cmds.map_create(map_type, key, value, entries, flags=flags, **kwargs).close()
    except SyscallError as exc:
        err = exc.errno or 0
        if err in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP):
            return Support(False, f"creating a {name} map fails with {_errname(err)}")
        return Support(True, f"{name} is known; the probe said {_errname(err)}")
    finally:
        for fd in extra:
            fd.close()
    return Support(True, f"a {name} map can be created")


def has_ringbuf() -> Support:
    """BPF ring buffer maps (5.8)."""
    return has_map_type(bpf_map_type.RINGBUF)


# ---------------------------------------------------------------- trampolines, kprobes, uprobes

@lru_cache(maxsize=None)
def has_trampolines() -> Support:
    """fentry/fexit/fmod_ret: load an fentry program on a known kernel function
    and attach it. Loading alone is not enough: a kernel built without direct-call
    trampolines (arm64 before 6.4) loads it and refuses the attach with ENOTSUPP."""
    target = "bpf_fentry_test1"  # only BPF_PROG_TEST_RUN calls it: attaching is harmless
    func_id = _vmlinux_func_id(target)
    if func_id is None:
        return Support(False, f"no kernel BTF function {target} to probe with")
    log = cmds.LogBuffer(4096, 1)
    try:
        prog = cmds.prog_load(bpf_prog_type.TRACING, _RET0, "GPL", log=log,
                              expected_attach_type=bpf_attach_type.TRACE_FENTRY,
                              attach_btf_id=func_id)
    except SyscallError as exc:
        detail = log.text.strip().splitlines()[-1] if log.text.strip() else "empty verifier log"
        return Support(False, f"fentry on {target} refused with {_errname(exc.errno or 0)} "
                              f"({detail})")
    with prog:
        try:
            cmds.raw_tracepoint_open(None, prog).close()
        except SyscallError as exc:
            return Support(False, f"fentry on {target} loads but attaching it fails with "
                                  f"{_errname(exc.errno or 0)}")
    return Support(True, f"an fentry program on {target} attaches")


def _pmu(name: str) -> bool:
    return os.path.exists(f"/sys/bus/event_source/devices/{name}/type")


def _tracefs(name: str) -> Optional[str]:
    for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        path = os.path.join(root, name)
        if os.path.exists(path):
            return path
    return None


@lru_cache(maxsize=None)
def has_kprobes() -> Support:
    """kprobes: the kprobe PMU (4.17) or tracefs kprobe_events."""
    if _pmu("kprobe"):
        return Support(True, "kprobe PMU in /sys/bus/event_source/devices")
    path = _tracefs("kprobe_events")
    if path:
        return Support(True, f"{path} exists")
    return Support(False, "no kprobe PMU and no tracefs kprobe_events (CONFIG_KPROBES off?)")


@lru_cache(maxsize=None)
def has_uprobes() -> Support:
    """uprobes: the uprobe PMU or tracefs uprobe_events."""
    if _pmu("uprobe"):
        return Support(True, "uprobe PMU in /sys/bus/event_source/devices")
    path = _tracefs("uprobe_events")
    if path:
        return Support(True, f"{path} exists")
    return Support(False, "no uprobe PMU and no tracefs uprobe_events (CONFIG_UPROBES off?)")


# ---------------------------------------------------------------- link types

_BAD_FD = 0xFFFFFFFF  # -1 as u32: the kernel reaches its fd lookup and says EBADF
_NO_IFINDEX = 0       # tcx looks the device up first and says ENODEV


def _link_probe(prog_type: int, attach_type: int, target: int,
                **opts: object) -> Tuple[Optional[int], str]:
    """Create (and close) a link from a probe program: (errno or None, where it failed)."""
    try:
        prog = cmds.prog_load(prog_type, _RET0, "GPL", expected_attach_type=attach_type)
    except SyscallError as exc:
        return exc.errno or 0, "program load"
    with prog:
        try:
            cmds.link_create(prog, target, attach_type, **opts).close()  # type: ignore[arg-type]
        except SyscallError as exc:
            return exc.errno or 0, "link create"
    return None, "link create"


def _probe_raw_tp() -> Support:
    try:
        with cmds.prog_load(bpf_prog_type.RAW_TRACEPOINT, _RET0, "GPL") as prog:
            cmds.raw_tracepoint_open("sys_enter", prog).close()
    except SyscallError as exc:
        return Support(False, f"BPF_RAW_TRACEPOINT_OPEN fails with {_errname(exc.errno or 0)}")
    return Support(True, "raw tracepoint sys_enter attaches")


def _probe_iter() -> Support:
    func_id = _vmlinux_func_id("bpf_iter_task")
    if func_id is None:
        return Support(False, "no kernel BTF function bpf_iter_task")
    try:
        with cmds.prog_load(bpf_prog_type.TRACING, _RET0, "GPL",
                            expected_attach_type=bpf_attach_type.TRACE_ITER,
                            attach_btf_id=func_id) as prog:
            cmds.link_create(prog, 0, bpf_attach_type.TRACE_ITER).close()
    except SyscallError as exc:
        return Support(False, f"a task iterator link fails with {_errname(exc.errno or 0)}")
    return Support(True, "a task iterator link attaches")


def _generic(prog_type: int, attach_type: int, target: int,
             **opts: object) -> Callable[[], Support]:
    def probe() -> Support:
        err, where = _link_probe(prog_type, attach_type, target, **opts)
        what = name_of(bpf_attach_type, attach_type)
        if err is None:
            return Support(True, f"a {what} link attaches")
        if err in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP):
            return Support(False, f"{where} for {what} fails with {_errname(err)}")
        # the kernel got past the attach type to the (deliberately bad) target
        return Support(True, f"{what} links are known (probe target refused: {_errname(err)})")
    return probe


_LINK_PROBES: Dict[int, Callable[[], Support]] = {
    bpf_link_type.RAW_TRACEPOINT: _probe_raw_tp,
    bpf_link_type.TRACING: lambda: has_trampolines(),
    bpf_link_type.ITER: _probe_iter,
    bpf_link_type.CGROUP: _generic(bpf_prog_type.CGROUP_SKB, bpf_attach_type.CGROUP_INET_INGRESS, _BAD_FD),
    bpf_link_type.NETNS: _generic(bpf_prog_type.FLOW_DISSECTOR, bpf_attach_type.FLOW_DISSECTOR, _BAD_FD),
    bpf_link_type.PERF_EVENT: _generic(bpf_prog_type.TRACEPOINT, bpf_attach_type.PERF_EVENT, _BAD_FD),
    bpf_link_type.TCX: _generic(bpf_prog_type.SCHED_CLS, bpf_attach_type.TCX_INGRESS, _NO_IFINDEX),
    bpf_link_type.SOCKMAP: _generic(bpf_prog_type.SK_SKB, bpf_attach_type.SK_SKB_VERDICT, _BAD_FD),
    bpf_link_type.KPROBE_MULTI: _generic(bpf_prog_type.KPROBE, bpf_attach_type.TRACE_KPROBE_MULTI, 0,
                                    kprobe_multi=cmds.KprobeMultiOpts(syms=["vprintk"])),
    bpf_link_type.UPROBE_MULTI: _generic(bpf_prog_type.KPROBE, bpf_attach_type.TRACE_UPROBE_MULTI, 0,
                                    uprobe_multi=cmds.UprobeMultiOpts(path="/", offsets=[0])),
}

PROBED_LINK_TYPES = frozenset(_LINK_PROBES)


@lru_cache(maxsize=None)
def has_link_type(link_type: int) -> Support:
    """Whether links of ``link_type`` can be created (see PROBED_LINK_TYPES).

    XDP, netkit, netfilter and struct_ops links have no side-effect-free probe
    and raise ValueError.
    """
    probe = _LINK_PROBES.get(link_type)
    if probe is None:
        raise ValueError(f"no probe for link type {name_of(bpf_link_type, link_type)}")
    return probe()


# ---------------------------------------------------------------- cookies, stats, commands

BPF_FUNC_GET_ATTACH_COOKIE = 174


@lru_cache(maxsize=None)
def has_attach_cookie(prog_type: int) -> Support:
    """Whether programs of ``prog_type`` may call bpf_get_attach_cookie (kprobe, tracepoint and
    perf_event from 5.15; TRACING programs are probed as tp_btf, which got cookies in 6.10)."""
    helper = has_helper(prog_type, BPF_FUNC_GET_ATTACH_COOKIE)
    name = name_of(bpf_prog_type, prog_type)
    word = "may" if helper else "may not"
    return Support(helper.ok, f"{name} programs {word} call bpf_get_attach_cookie: {helper.reason}")


@lru_cache(maxsize=None)
def has_tracing_cookie() -> Support:
    """Cookies on tp_btf links: a tp_btf program may read its link's cookie, so the kernel also
    takes ``tracing.cookie`` in BPF_LINK_CREATE and ``cookie`` in BPF_RAW_TRACEPOINT_OPEN."""
    support = has_attach_cookie(bpf_prog_type.TRACING)
    return Support(support.ok, f"tp_btf: {support.reason}")


@lru_cache(maxsize=None)
def has_raw_tp_link_info_cookie() -> Support:
    """Whether link info of raw_tp/tp_btf links reports the cookie (the kernel attaches cookies
    before it reports them: without this the info says 0)."""
    cookie = 0x5EED
    try:
        with cmds.prog_load(bpf_prog_type.RAW_TRACEPOINT, _RET0, "GPL") as prog, \
                cmds.raw_tracepoint_open("sys_enter", prog, cookie=cookie) as link:
            reported = link_info(link).details.get("cookie", 0)
    except SyscallError as exc:
        return Support(False, f"a raw_tp link with a cookie fails with {_errname(exc.errno or 0)}")
    if reported == cookie:
        return Support(True, "raw_tp link info reports the cookie")
    return Support(False, f"raw_tp link info reports cookie {reported}, not the one attached")


@lru_cache(maxsize=None)
def has_enable_stats() -> Support:
    """BPF_ENABLE_STATS (run_cnt/run_time_ns for every program while the fd is open)."""
    try:
        cmds.enable_stats().close()
    except SyscallError as exc:
        return Support(False, f"BPF_ENABLE_STATS fails with {_errname(exc.errno or 0)}")
    return Support(True, "BPF_ENABLE_STATS returns an fd")


@lru_cache(maxsize=None)
def has_fd_array() -> Support:
    """Whether BPF_PROG_LOAD takes ``fd_array`` (older kernels refuse the unknown attr field)."""
    try:
        with cmds.map_create(bpf_map_type.ARRAY, 4, 4, 1) as m:
            cmds.prog_load(bpf_prog_type.SOCKET_FILTER, _RET0, "GPL", fd_array=[m]).close()
    except SyscallError as exc:
        return Support(False, f"a load with fd_array fails with {_errname(exc.errno or 0)}")
    return Support(True, "a load with fd_array succeeds")


@lru_cache(maxsize=None)
def has_lookup_and_delete(map_type: int) -> Support:
    """BPF_MAP_LOOKUP_AND_DELETE_ELEM on a keyed map of ``map_type`` (queues/stacks had it
    first; hash maps gained it later)."""
    name = name_of(bpf_map_type, map_type)
    try:
        with cmds.map_create(map_type, 4, 4, 1) as m:
            cmds.map_update_elem(m, b"\1\0\0\0", b"\2\0\0\0")
            out = bytearray(4)
            if not cmds.map_lookup_and_delete_elem(m, b"\1\0\0\0", out) or out[0] != 2:
                return Support(False, f"lookup-and-delete on a {name} map found nothing")
    except SyscallError as exc:
        return Support(False, f"lookup-and-delete on a {name} map fails with "
                              f"{_errname(exc.errno or 0)}")
    return Support(True, f"lookup-and-delete pops an element of a {name} map")


@lru_cache(maxsize=None)
def has_link_detach() -> Support:
    """BPF_LINK_DETACH: asked to detach no link (fd -1), a kernel that knows the command says
    EBADF, one that does not says EINVAL."""
    try:
        cmds.link_detach(_BAD_FD)
    except BadFDError:
        return Support(True, "BPF_LINK_DETACH is known (EBADF for fd -1)")
    except SyscallError as exc:
        return Support(False, f"BPF_LINK_DETACH fails with {_errname(exc.errno or 0)}")
    return Support(False, "BPF_LINK_DETACH of fd -1 succeeded (unexpected)")


_BTF_INFO_WITH_KERNEL_FLAG = 32  # btf, btf_size, id, name, name_len, kernel_btf


@lru_cache(maxsize=None)
def has_kernel_btf_objects() -> Support:
    """Whether the kernel lists its own (vmlinux, module) BTF as BTF objects with ids, flagged
    ``kernel_btf`` in their info; probed by how much BTF info the kernel fills in."""
    try:
        with cmds.btf_load(_int_btf()) as fd:
            written = get_info(fd, BTFInfoStruct(), "probe BTF info")
    except SyscallError as exc:
        return Support(False, f"BTF info fails with {_errname(exc.errno or 0)}")
    if written >= _BTF_INFO_WITH_KERNEL_FLAG:
        return Support(True, f"BTF info has name and kernel_btf ({written} bytes)")
    return Support(False, f"BTF info has no kernel_btf field ({written} bytes)")


# ---------------------------------------------------------------- BTF

def _btf_type(name_off: int, kind: int, vlen: int, size_or_type: int,
              kind_flag: bool = False) -> bytes:
    info = (kind << 24) | vlen | (int(kind_flag) << 31)
    return struct.pack("<III", name_off, info, size_or_type)


def _btf_blob(types: bytes, strings: bytes) -> bytes:
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types),
                         len(strings))
    return header + types + strings


# string table shared by the BTF probes: offsets of each name
_STRINGS = b"\0int\0x\0.data\0?.data\0float\0tag\0e\0v\0f\0"
_S = {name: _STRINGS.index(b"\0" + name.encode() + b"\0") + 1
      for name in ("int", "x", ".data", "?.data", "float", "tag", "e", "v", "f")}


def _int_type() -> bytes:
    """BTF of one type, a 32-bit signed int (id 1)."""
    # the BTF kinds are imported here: probing BTF is a cold start's business, and the
    # BTF package is not imported by a warm start that decodes nothing
    from pybpf.btf.types import Kind as BTFKind

    return _btf_type(_S["int"], BTFKind.INT, 0, 4) + struct.pack("<I", (1 << 24) | 32)


def _btf_probe_blobs() -> Dict[str, bytes]:
    from pybpf.btf.types import Kind as BTFKind  # see _int_type

    int_type = _int_type()
    proto = _btf_type(0, BTFKind.FUNC_PROTO, 0, 1)                      # id 2: int (void)
    var = _btf_type(_S["x"], BTFKind.VAR, 0, 1) + struct.pack("<I", 1)   # id 2: global int x

    def datasec(name: str) -> bytes:
        return _btf_type(_S[name], BTFKind.DATASEC, 1, 4) + struct.pack("<III", 2, 0, 4)

    return {
        "func": int_type + proto + _btf_type(_S["f"], BTFKind.FUNC, 0, 2),
        "func_global": int_type + proto + _btf_type(_S["f"], BTFKind.FUNC, 1, 2),
        "datasec": int_type + var + datasec(".data"),
        "qmark_datasec": int_type + var + datasec("?.data"),
        "float": _btf_type(_S["float"], BTFKind.FLOAT, 0, 4),
        "decl_tag": int_type + var + _btf_type(_S["tag"], BTFKind.DECL_TAG, 0, 2)
        + struct.pack("<i", -1),
        "type_tag": int_type + _btf_type(_S["tag"], BTFKind.TYPE_TAG, 0, 1)
        + _btf_type(0, BTFKind.PTR, 0, 2),
        "enum64": _btf_type(_S["e"], BTFKind.ENUM64, 1, 8)
        + struct.pack("<III", _S["v"], 1, 0),
    }


@lru_cache(maxsize=None)
def btf_features() -> FrozenSet[str]:
    """The BTF features the kernel's BTF loader accepts, named as pybpf.btf.sanitize
    expects them: func, func_global, datasec, qmark_datasec, float, decl_tag,
    type_tag, enum64."""
    found = set()
    for feature, types in _btf_probe_blobs().items():
        try:
            cmds.btf_load(_btf_blob(types, _STRINGS)).close()
        except SyscallError:
            continue
        found.add(feature)
    return frozenset(found)


@lru_cache(maxsize=None)
def btf_kinds() -> FrozenSet[BTFKind]:
    """The BTF kinds the kernel accepts (the base kinds plus those probed by btf_features)."""
    from pybpf.btf.types import Kind as BTFKind  # see _int_type

    try:
        cmds.btf_load(_int_btf()).close()
    except SyscallError:
        return frozenset()  # no BTF_LOAD at all (before 4.18) or BTF disabled
    kinds = {BTFKind.INT, BTFKind.PTR, BTFKind.ARRAY, BTFKind.STRUCT, BTFKind.UNION,
             BTFKind.ENUM, BTFKind.FWD, BTFKind.TYPEDEF, BTFKind.VOLATILE, BTFKind.CONST,
             BTFKind.RESTRICT}
    features = btf_features()
    by_feature = {
        "func": (BTFKind.FUNC, BTFKind.FUNC_PROTO),
        "datasec": (BTFKind.VAR, BTFKind.DATASEC),
        "float": (BTFKind.FLOAT,),
        "decl_tag": (BTFKind.DECL_TAG,),
        "type_tag": (BTFKind.TYPE_TAG,),
        "enum64": (BTFKind.ENUM64,),
    }
    for feature, members in by_feature.items():
        if feature in features:
            kinds.update(members)
    return frozenset(kinds)


# ---------------------------------------------------------------- summary

def report() -> List[Tuple[str, Support]]:
    """Every probe, for ``pybpf list`` and bug reports."""
    rows: List[Tuple[str, Support]] = []
    major, minor, patch = kernel_version()
    rows.append(("kernel", Support(True, f"{major}.{minor}.{patch}")))
    rows.append(("ringbuf", has_ringbuf()))
    rows.append(("trampolines (fentry/fexit)", has_trampolines()))
    rows.append(("kprobes", has_kprobes()))
    rows.append(("uprobes", has_uprobes()))
    for lt in sorted(PROBED_LINK_TYPES):
        rows.append((f"link {name_of(bpf_link_type, lt).lower()}", has_link_type(lt)))
    rows.append(("tp_btf cookies", has_tracing_cookie()))
    rows.append(("raw_tp link info cookie", has_raw_tp_link_info_cookie()))
    rows.append(("enable_stats", has_enable_stats()))
    rows.append(("link_detach", has_link_detach()))
    rows.append(("fd_array", has_fd_array()))
    rows.append(("kernel BTF objects", has_kernel_btf_objects()))
    features = btf_features()
    rows.append(("BTF features", Support(True, ", ".join(sorted(features)) or "none")))
    return rows


def clear_cache() -> None:
    """Forget every cached probe (for tests)."""
    for fn in (has_prog_type, has_helper, has_map_type, has_trampolines, has_kprobes,
               has_uprobes, has_link_type, btf_features, btf_kinds, has_attach_cookie,
               has_tracing_cookie, has_raw_tp_link_info_cookie, has_enable_stats, has_fd_array,
               has_lookup_and_delete, has_kernel_btf_objects, has_link_detach):
        fn.cache_clear()
