"""Typed wrappers around each bpf(2) command pybpf uses.

Inputs are ints, FDs and byte buffers; outputs are FDs (owned by the
caller), ints or records (pybpf.records). Buffers the kernel writes into must be
writable (``bytearray`` or a ctypes array). Every failure raises
``syscall_error("BPF_<CMD>", errno, detail)``, except where a wrapper
documents a boolean result (ENOENT on lookups).
"""
from __future__ import annotations

import ctypes
import errno
import os

from pybpf.errors import SyscallError, syscall_error
from pybpf.records import Record
from pybpf.sys import attrs as A
from pybpf.sys import mounts
from pybpf.sys.fd import FD
from pybpf.sys.syscall import bpf
from pybpf.uapi import BPF_OBJ_NAME_LEN, bpf_cmd, bpf_stats_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, List, Optional, Sequence, Tuple, Union
    FDLike = Union[FD, int]
    Buffer = Union[bytes, bytearray, memoryview, "ctypes.Array[Any]"]


class _Pins:
    """Keeps the Python objects whose addresses an attr holds alive until the call returns."""

    def __init__(self) -> None:
        self.keep: List[Any] = []

    def ro(self, data: Optional[Buffer]) -> int:
        """Address of read-only input ``data`` (0 for None or empty)."""
        if data is None:
            return 0
        if isinstance(data, (ctypes.Array, ctypes.Structure)):
            self.keep.append(data)
            return ctypes.addressof(data)
        if isinstance(data, memoryview):
            if data.readonly or not data.c_contiguous:
                data = data.tobytes()
            else:
                data = data.cast("B")
        if isinstance(data, bytes):
            if not data:
                return 0
            ptr = ctypes.c_char_p(data)
            self.keep.append((data, ptr))
            return ctypes.cast(ptr, ctypes.c_void_p).value or 0
        return self.rw(data)

    def rw(self, data: Optional[Buffer]) -> int:
        """Address of writable output ``data`` (0 for None or empty)."""
        if data is None:
            return 0
        if isinstance(data, (ctypes.Array, ctypes.Structure)):
            self.keep.append(data)
            return ctypes.addressof(data)
        view = memoryview(data)
        if view.readonly:
            raise TypeError("output buffer must be writable (bytearray or ctypes array)")
        if not view.nbytes:
            return 0
        arr = (ctypes.c_char * view.nbytes).from_buffer(view)
        self.keep.append(arr)
        return ctypes.addressof(arr)


def object_name(name: str) -> str:
    """``name`` as the kernel accepts it: [A-Za-z0-9_.], at most 15 characters."""
    kept = "".join(ch for ch in name if ch.isascii() and (ch.isalnum() or ch in "_."))
    return kept[: BPF_OBJ_NAME_LEN - 1]


def _name16(name: str) -> bytes:
    return object_name(name).encode("ascii")


def _fd(fd: Optional[FDLike]) -> int:
    return 0 if fd is None else int(fd)


# ---------------------------------------------------------------- maps

def map_create(map_type: int, key_size: int, value_size: int, max_entries: int, *,
               flags: int = 0, name: str = "", inner_map_fd: Optional[FDLike] = None,
               numa_node: int = 0, btf_fd: Optional[FDLike] = None, btf_key_type_id: int = 0,
               btf_value_type_id: int = 0, btf_vmlinux_value_type_id: int = 0,
               map_extra: int = 0, map_ifindex: int = 0,
               value_type_btf_obj_fd: Optional[FDLike] = None) -> FD:
    """BPF_MAP_CREATE; ``name`` is cut down to a valid object name (see object_name)."""
    attr = A.MapCreateAttr()
    attr.map_type = map_type
    attr.key_size = key_size
    attr.value_size = value_size
    attr.max_entries = max_entries
    attr.map_flags = flags
    attr.inner_map_fd = _fd(inner_map_fd)
    attr.numa_node = numa_node
    attr.map_name = _name16(name)
    attr.map_ifindex = map_ifindex
    attr.btf_fd = _fd(btf_fd)
    attr.btf_key_type_id = btf_key_type_id
    attr.btf_value_type_id = btf_value_type_id
    attr.btf_vmlinux_value_type_id = btf_vmlinux_value_type_id
    attr.map_extra = map_extra
    attr.value_type_btf_obj_fd = _fd(value_type_btf_obj_fd)
    return FD(bpf(bpf_cmd.MAP_CREATE, attr, f"map {name!r}" if name else ""))


def _elem(cmd: int, fd: FDLike, key: Optional[Buffer], value: Optional[Buffer],
          flags: int, writable_value: bool, detail: str) -> int:
    pins = _Pins()
    attr = A.MapElemAttr()
    attr.map_fd = int(fd)
    attr.key = pins.ro(key)
    attr.value = pins.rw(value) if writable_value else pins.ro(value)
    attr.flags = flags
    return bpf(cmd, attr, detail)


def map_lookup_elem(fd: FDLike, key: Optional[Buffer], value_out: Buffer, flags: int = 0,
                    detail: str = "") -> bool:
    """Copy the value of ``key`` into ``value_out``; False when the key is absent (ENOENT)."""
    try:
        _elem(bpf_cmd.MAP_LOOKUP_ELEM, fd, key, value_out, flags, True, detail)
    except SyscallError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True


def map_update_elem(fd: FDLike, key: Optional[Buffer], value: Buffer, flags: int = 0,
                    detail: str = "") -> None:
    """Create or replace ``key`` (flags BPF_ANY / BPF_NOEXIST / BPF_EXIST / BPF_F_LOCK)."""
    _elem(bpf_cmd.MAP_UPDATE_ELEM, fd, key, value, flags, False, detail)


def map_delete_elem(fd: FDLike, key: Optional[Buffer], detail: str = "") -> bool:
    """Delete ``key``; False when it was absent (ENOENT)."""
    try:
        _elem(bpf_cmd.MAP_DELETE_ELEM, fd, key, None, 0, False, detail)
    except SyscallError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True


def map_lookup_and_delete_elem(fd: FDLike, key: Optional[Buffer], value_out: Buffer,
                               flags: int = 0, detail: str = "") -> bool:
    """Pop ``key`` (or the head of a queue/stack when key is None); False when absent."""
    try:
        _elem(bpf_cmd.MAP_LOOKUP_AND_DELETE_ELEM, fd, key, value_out, flags, True, detail)
    except SyscallError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True


def map_get_next_key(fd: FDLike, key: Optional[Buffer], next_key_out: Buffer,
                     detail: str = "") -> bool:
    """Write the key after ``key`` (the first key when None); False at the end (ENOENT)."""
    try:
        _elem(bpf_cmd.MAP_GET_NEXT_KEY, fd, key, next_key_out, 0, True, detail)
    except SyscallError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    return True


def map_freeze(fd: FDLike, detail: str = "") -> None:
    """Make the map read-only for user space from now on."""
    attr = A.MapElemAttr()
    attr.map_fd = int(fd)
    bpf(bpf_cmd.MAP_FREEZE, attr, detail)


def _batch(cmd: int, fd: FDLike, in_batch: Optional[Buffer], out_batch: Optional[Buffer],
           keys: Optional[Buffer], values: Optional[Buffer], count: int, elem_flags: int,
           keys_out: bool, values_out: bool,
           detail: str) -> Tuple[int, Optional[SyscallError]]:
    pins = _Pins()
    attr = A.MapBatchAttr()
    attr.map_fd = int(fd)
    attr.in_batch = pins.ro(in_batch)
    attr.out_batch = pins.rw(out_batch)
    attr.keys = pins.rw(keys) if keys_out else pins.ro(keys)
    attr.values = pins.rw(values) if values_out else pins.ro(values)
    attr.count = count
    attr.elem_flags = elem_flags
    try:
        bpf(cmd, attr, detail)
    except SyscallError as exc:
        return attr.count, exc
    return attr.count, None


def map_lookup_batch(fd: FDLike, in_batch: Optional[Buffer], out_batch: Buffer,
                     keys_out: Buffer, values_out: Buffer, count: int, elem_flags: int = 0,
                     detail: str = "", delete: bool = False) -> Tuple[int, bool]:
    """Read up to ``count`` elements after the ``in_batch`` token (None: from the start).

    Returns (elements copied, done). ``done`` is True when the kernel reported
    ENOENT, i.e. no element follows. ``delete=True`` uses
    BPF_MAP_LOOKUP_AND_DELETE_BATCH. Other errors raise.
    """
    cmd = bpf_cmd.MAP_LOOKUP_AND_DELETE_BATCH if delete else bpf_cmd.MAP_LOOKUP_BATCH
    n, exc = _batch(cmd, fd, in_batch, out_batch, keys_out, values_out, count, elem_flags,
                    True, True, detail)
    if exc is not None:
        if exc.errno == errno.ENOENT:
            return n, True
        raise exc
    return n, False


def map_update_batch(fd: FDLike, keys: Buffer, values: Buffer, count: int,
                     elem_flags: int = 0, detail: str = "") -> int:
    """Write ``count`` key/value pairs; returns how many were written."""
    n, exc = _batch(bpf_cmd.MAP_UPDATE_BATCH, fd, None, None, keys, values, count, elem_flags,
                    False, False, detail)
    if exc is not None:
        raise _partial(exc, f"{n} of {count} written")
    return n


def map_delete_batch(fd: FDLike, keys: Buffer, count: int, elem_flags: int = 0,
                     detail: str = "") -> int:
    """Delete ``count`` keys; returns how many were deleted."""
    n, exc = _batch(bpf_cmd.MAP_DELETE_BATCH, fd, None, None, keys, None, count, elem_flags,
                    False, False, detail)
    if exc is not None:
        raise _partial(exc, f"{n} of {count} deleted")
    return n


def _partial(exc: SyscallError, progress: str) -> SyscallError:
    detail = f"{exc.detail}; {progress}" if exc.detail else progress
    return syscall_error(exc.cmd, exc.errno or 0, detail)


# ---------------------------------------------------------------- programs

class LogBuffer:
    """A verifier/BTF log buffer of ``size`` bytes at ``level``; ``true_size`` is set
    after the call by kernels that report it (6.4+), else stays 0."""

    def __init__(self, size: int, level: int = 1) -> None:
        self.size = size
        self.level = level
        self.buf = ctypes.create_string_buffer(size)
        self.true_size = 0

    @property
    def text(self) -> str:
        return self.buf.value.decode("utf-8", "replace")


def prog_load(prog_type: int, insns: Buffer, license: str, *, name: str = "",
              expected_attach_type: int = 0, kern_version: int = 0, flags: int = 0,
              btf_fd: Optional[FDLike] = None, func_info: Optional[Buffer] = None,
              func_info_rec_size: int = 0, line_info: Optional[Buffer] = None,
              line_info_rec_size: int = 0, attach_btf_id: int = 0,
              attach_btf_obj_fd: Optional[FDLike] = None,
              attach_prog_fd: Optional[FDLike] = None,
              fd_array: Optional[Sequence[FDLike]] = None, prog_ifindex: int = 0,
              log: Optional[LogBuffer] = None, detail: str = "") -> FD:
    """BPF_PROG_LOAD. ``insns`` are raw 8-byte slots; ``func_info``/``line_info`` raw
    records of the given sizes. The log (if any) is filled even on failure."""
    if len(insns) % 8:
        raise ValueError(f"instructions are {len(insns)} bytes, not a multiple of 8")
    if attach_prog_fd is not None and attach_btf_obj_fd is not None:
        raise ValueError("attach_prog_fd and attach_btf_obj_fd share one field; pass one")
    pins = _Pins()
    attr = A.ProgLoadAttr()
    attr.prog_type = prog_type
    attr.insn_cnt = len(insns) // 8
    attr.insns = pins.ro(insns)
    attr.license = pins.ro(license.encode() + b"\0")
    if log is not None:
        attr.log_level = log.level
        attr.log_size = log.size
        attr.log_buf = pins.rw(log.buf)
    attr.kern_version = kern_version
    attr.prog_flags = flags
    attr.prog_name = _name16(name)
    attr.prog_ifindex = prog_ifindex
    attr.expected_attach_type = expected_attach_type
    attr.prog_btf_fd = _fd(btf_fd)
    if func_info:
        attr.func_info_rec_size = func_info_rec_size
        attr.func_info = pins.ro(func_info)
        attr.func_info_cnt = len(func_info) // func_info_rec_size
    if line_info:
        attr.line_info_rec_size = line_info_rec_size
        attr.line_info = pins.ro(line_info)
        attr.line_info_cnt = len(line_info) // line_info_rec_size
    attr.attach_btf_id = attach_btf_id
    attr.attach_fd = _fd(attach_prog_fd) or _fd(attach_btf_obj_fd)
    if fd_array:
        arr = (ctypes.c_int32 * len(fd_array))(*[int(f) for f in fd_array])
        attr.fd_array = pins.ro(arr)
    try:
        return FD(bpf(bpf_cmd.PROG_LOAD, attr, detail or (f"program {name!r}" if name else "")))
    finally:
        if log is not None:
            log.true_size = attr.log_true_size


def btf_load(data: Buffer, log: Optional[LogBuffer] = None, detail: str = "") -> FD:
    """BPF_BTF_LOAD of a raw BTF blob (header, types, strings)."""
    pins = _Pins()
    attr = A.BTFLoadAttr()
    attr.btf = pins.ro(data)
    attr.btf_size = len(data)
    if log is not None:
        attr.btf_log_buf = pins.rw(log.buf)
        attr.btf_log_size = log.size
        attr.btf_log_level = log.level
    try:
        return FD(bpf(bpf_cmd.BTF_LOAD, attr, detail))
    finally:
        if log is not None:
            log.true_size = attr.btf_log_true_size


class TestRunResult(Record):
    """What BPF_PROG_TEST_RUN reports: return value, mean duration (ns), output data and ctx."""

    __slots__ = ("retval", "duration", "data", "ctx")
    __test__ = False

    retval: int
    duration: int
    data: bytes
    ctx: bytes

    def __init__(self, retval: int, duration: int, data: bytes = b"", ctx: bytes = b"") -> None:
        self.retval = retval
        self.duration = duration
        self.data = data
        self.ctx = ctx


def prog_test_run(prog_fd: FDLike, data: Buffer = b"", repeat: int = 1,
                  ctx: Optional[Buffer] = None, *, data_out_size: Optional[int] = None,
                  ctx_out_size: Optional[int] = None, flags: int = 0, cpu: int = 0,
                  batch_size: int = 0, detail: str = "") -> TestRunResult:
    """Run a program once (or ``repeat`` times) on ``data``/``ctx`` in the kernel."""
    pins = _Pins()
    attr = A.TestRunAttr()
    attr.prog_fd = int(prog_fd)
    attr.data_in = pins.ro(data)
    attr.data_size_in = len(data)
    out_size = data_out_size if data_out_size is not None else (len(data) + 256 if data else 0)
    data_out = ctypes.create_string_buffer(out_size) if out_size else None
    attr.data_out = pins.rw(data_out)
    attr.data_size_out = out_size
    attr.repeat = repeat
    if ctx:
        attr.ctx_in = pins.ro(ctx)
        attr.ctx_size_in = len(ctx)
    csize = ctx_out_size if ctx_out_size is not None else (len(ctx) if ctx else 0)
    ctx_out = ctypes.create_string_buffer(csize) if csize else None
    attr.ctx_out = pins.rw(ctx_out)
    attr.ctx_size_out = csize
    attr.flags = flags
    attr.cpu = cpu
    attr.batch_size = batch_size
    bpf(bpf_cmd.PROG_TEST_RUN, attr, detail)
    return TestRunResult(
        retval=attr.retval, duration=attr.duration,
        data=data_out.raw[: attr.data_size_out] if data_out is not None else b"",
        ctx=ctx_out.raw[: attr.ctx_size_out] if ctx_out is not None else b"",
    )


def prog_bind_map(prog_fd: FDLike, map_fd: FDLike) -> None:
    """Keep ``map_fd`` alive as long as the program (BPF_PROG_BIND_MAP)."""
    attr = A.ProgBindMapAttr()
    attr.prog_fd = int(prog_fd)
    attr.map_fd = int(map_fd)
    bpf(bpf_cmd.PROG_BIND_MAP, attr)


# ---------------------------------------------------------------- objects

def obj_pin(fd: FDLike, path: Union[str, "os.PathLike[str]"]) -> None:
    """Pin the object behind ``fd`` at ``path`` on bpffs (under /sys/fs/bpf, bpffs is
    mounted first if it is missing and this process is root: pybpf.sys.mounts)."""
    if os.path.abspath(path).startswith(mounts.BPFFS_DIR + "/"):
        mounts.ensure_bpffs(f"pinning {os.fsdecode(path)}")
    pins = _Pins()
    attr = A.ObjAttr()
    attr.pathname = pins.ro(os.fsencode(path) + b"\0")
    attr.bpf_fd = int(fd)
    bpf(bpf_cmd.OBJ_PIN, attr, os.fsdecode(path))


def obj_get(path: Union[str, "os.PathLike[str]"], flags: int = 0) -> FD:
    """Open the object pinned at ``path`` (flags BPF_F_RDONLY / BPF_F_WRONLY)."""
    pins = _Pins()
    attr = A.ObjAttr()
    attr.pathname = pins.ro(os.fsencode(path) + b"\0")
    attr.file_flags = flags
    return FD(bpf(bpf_cmd.OBJ_GET, attr, os.fsdecode(path)))


def _get_fd_by_id(cmd: int, obj_id: int, what: str, flags: int = 0) -> FD:
    attr = A.GetIdAttr()
    attr.id = obj_id
    attr.open_flags = flags
    return FD(bpf(cmd, attr, f"{what} id {obj_id}"))


def prog_get_fd_by_id(prog_id: int) -> FD:
    return _get_fd_by_id(bpf_cmd.PROG_GET_FD_BY_ID, prog_id, "program")


def map_get_fd_by_id(map_id: int, flags: int = 0) -> FD:
    return _get_fd_by_id(bpf_cmd.MAP_GET_FD_BY_ID, map_id, "map", flags)


def link_get_fd_by_id(link_id: int) -> FD:
    return _get_fd_by_id(bpf_cmd.LINK_GET_FD_BY_ID, link_id, "link")


def btf_get_fd_by_id(btf_id: int) -> FD:
    return _get_fd_by_id(bpf_cmd.BTF_GET_FD_BY_ID, btf_id, "BTF")


def _get_next_id(cmd: int, start: int) -> Optional[int]:
    attr = A.GetIdAttr()
    attr.id = start
    try:
        bpf(cmd, attr)
    except SyscallError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return int(attr.next_id)


def prog_get_next_id(start: int = 0) -> Optional[int]:
    """The id of the first program after ``start``; None at the end."""
    return _get_next_id(bpf_cmd.PROG_GET_NEXT_ID, start)


def map_get_next_id(start: int = 0) -> Optional[int]:
    return _get_next_id(bpf_cmd.MAP_GET_NEXT_ID, start)


def link_get_next_id(start: int = 0) -> Optional[int]:
    return _get_next_id(bpf_cmd.LINK_GET_NEXT_ID, start)


def btf_get_next_id(start: int = 0) -> Optional[int]:
    return _get_next_id(bpf_cmd.BTF_GET_NEXT_ID, start)


# ---------------------------------------------------------------- links and attachment

class KprobeMultiOpts(Record):
    """kprobe_multi: attach by symbol names or by addresses; one cookie per target."""

    __slots__ = ("syms", "addrs", "cookies", "flags")

    syms: Optional[Sequence[str]]
    addrs: Optional[Sequence[int]]
    cookies: Optional[Sequence[int]]
    flags: int

    def __init__(
            self,
            syms: Optional[Sequence[str]] = None,
            addrs: Optional[Sequence[int]] = None,
            cookies: Optional[Sequence[int]] = None,
            flags: int = 0,
    ) -> None:
        self.syms = syms
        self.addrs = addrs
        self.cookies = cookies
        self.flags = flags


class UprobeMultiOpts(Record):
    """uprobe_multi: one binary, many offsets (ref_ctr_offsets/cookies parallel to offsets)."""

    __slots__ = ("path", "offsets", "ref_ctr_offsets", "cookies", "pid", "flags")

    path: str
    offsets: Sequence[int]
    ref_ctr_offsets: Optional[Sequence[int]]
    cookies: Optional[Sequence[int]]
    pid: int
    flags: int

    def __init__(
            self,
            path: str,
            offsets: Sequence[int],
            ref_ctr_offsets: Optional[Sequence[int]] = None,
            cookies: Optional[Sequence[int]] = None,
            pid: int = 0,
            flags: int = 0,
    ) -> None:
        self.path = path
        self.offsets = offsets
        self.ref_ctr_offsets = ref_ctr_offsets
        self.cookies = cookies
        self.pid = pid
        self.flags = flags


class NetfilterOpts(Record):
    __slots__ = ("pf", "hooknum", "priority", "flags")

    pf: int
    hooknum: int
    priority: int
    flags: int

    def __init__(self, pf: int, hooknum: int, priority: int, flags: int = 0) -> None:
        self.pf = pf
        self.hooknum = hooknum
        self.priority = priority
        self.flags = flags


def _u64_array(pins: _Pins, values: Optional[Sequence[int]]) -> int:
    if not values:
        return 0
    return pins.ro((ctypes.c_uint64 * len(values))(*values))


def link_create(prog_fd: FDLike, target_fd: int, attach_type: int, flags: int = 0, *,
                target_btf_id: int = 0, iter_info: Optional[Buffer] = None,
                bpf_cookie: Optional[int] = None,
                kprobe_multi: Optional[KprobeMultiOpts] = None,
                uprobe_multi: Optional[UprobeMultiOpts] = None,
                tracing_cookie: Optional[int] = None,
                relative_fd: int = 0, expected_revision: int = 0,
                netfilter: Optional[NetfilterOpts] = None, detail: str = "") -> FD:
    """BPF_LINK_CREATE. ``target_fd`` is a cgroup/netns/perf event fd or an ifindex.

    Per-kind options (set at most one group): ``target_btf_id`` (freplace), ``iter_info``
    (raw bpf_iter_link_info), ``bpf_cookie`` (perf_event), ``kprobe_multi``,
    ``uprobe_multi``, ``tracing_cookie`` (fentry/fexit with target_btf_id), ``relative_fd``
    and ``expected_revision`` (tcx, netkit, cgroup mprog), ``netfilter``.
    """
    pins = _Pins()
    attr = A.LinkCreateAttr()
    attr.prog_fd = int(prog_fd)
    attr.target_fd = int(target_fd)
    attr.attach_type = attach_type
    attr.flags = flags
    opts = attr.opts
    if kprobe_multi is not None:
        km = opts.kprobe_multi
        km.flags = kprobe_multi.flags
        if kprobe_multi.syms:
            names = [ctypes.create_string_buffer(s.encode()) for s in kprobe_multi.syms]
            ptrs = (ctypes.c_void_p * len(names))(*[ctypes.addressof(n) for n in names])
            pins.keep.append(names)
            km.syms = pins.ro(ptrs)
            km.cnt = len(names)
        if kprobe_multi.addrs:
            km.addrs = _u64_array(pins, kprobe_multi.addrs)
            km.cnt = len(kprobe_multi.addrs)
        km.cookies = _u64_array(pins, kprobe_multi.cookies)
    elif uprobe_multi is not None:
        um = opts.uprobe_multi
        um.path = pins.ro(os.fsencode(uprobe_multi.path) + b"\0")
        um.offsets = _u64_array(pins, uprobe_multi.offsets)
        um.ref_ctr_offsets = _u64_array(pins, uprobe_multi.ref_ctr_offsets)
        um.cookies = _u64_array(pins, uprobe_multi.cookies)
        um.cnt = len(uprobe_multi.offsets)
        um.flags = uprobe_multi.flags
        um.pid = uprobe_multi.pid
    elif netfilter is not None:
        opts.netfilter.pf = netfilter.pf
        opts.netfilter.hooknum = netfilter.hooknum
        opts.netfilter.priority = netfilter.priority
        opts.netfilter.flags = netfilter.flags
    elif iter_info is not None:
        opts.iter.iter_info = pins.ro(iter_info)
        opts.iter.iter_info_len = len(iter_info)
    elif bpf_cookie is not None:
        opts.perf_event.bpf_cookie = bpf_cookie
    elif tracing_cookie is not None:
        opts.tracing.target_btf_id = target_btf_id
        opts.tracing.cookie = tracing_cookie
    elif relative_fd or expected_revision:
        opts.tcx.relative_fd = relative_fd
        opts.tcx.expected_revision = expected_revision
    elif target_btf_id:
        opts.target_btf_id = target_btf_id
    return FD(bpf(bpf_cmd.LINK_CREATE, attr, detail))


def link_update(link_fd: FDLike, new_prog_fd: FDLike, old_prog_fd: Optional[FDLike] = None,
                flags: int = 0) -> None:
    """Swap the program of a link (BPF_F_REPLACE with ``old_prog_fd`` checks the old one)."""
    attr = A.LinkUpdateAttr()
    attr.link_fd = int(link_fd)
    attr.new_prog_fd = int(new_prog_fd)
    attr.flags = flags
    attr.old_prog_fd = _fd(old_prog_fd)
    bpf(bpf_cmd.LINK_UPDATE, attr)


def link_detach(link_fd: FDLike) -> None:
    """Detach a link from its hook; the fd stays valid (and defunct) until closed."""
    attr = A.LinkDetachAttr()
    attr.link_fd = int(link_fd)
    bpf(bpf_cmd.LINK_DETACH, attr)


def raw_tracepoint_open(name: Optional[str], prog_fd: FDLike, cookie: int = 0) -> FD:
    """Attach a raw_tp program to tracepoint ``name`` (None for tp_btf/fentry-style programs
    whose target came from attach_btf_id at load time); returns the link fd."""
    pins = _Pins()
    attr = A.RawTracepointAttr()
    attr.name = pins.ro(name.encode() + b"\0") if name else 0
    attr.prog_fd = int(prog_fd)
    attr.cookie = cookie
    return FD(bpf(bpf_cmd.RAW_TRACEPOINT_OPEN, attr, name or ""))


def prog_attach(target_fd: int, prog_fd: FDLike, attach_type: int, flags: int = 0, *,
                replace_fd: Optional[FDLike] = None, relative_fd: int = 0,
                expected_revision: int = 0, detail: str = "") -> None:
    """BPF_PROG_ATTACH (cgroup, sockmap, flow dissector, lirc, tcx...)."""
    attr = A.ProgAttachAttr()
    attr.target_fd = int(target_fd)
    attr.attach_bpf_fd = int(prog_fd)
    attr.attach_type = attach_type
    attr.attach_flags = flags
    attr.replace_bpf_fd = _fd(replace_fd)
    attr.relative_fd = relative_fd
    attr.expected_revision = expected_revision
    bpf(bpf_cmd.PROG_ATTACH, attr, detail)


def prog_detach(target_fd: int, attach_type: int, prog_fd: Optional[FDLike] = None,
                detail: str = "") -> None:
    """BPF_PROG_DETACH (``prog_fd`` selects one program of a multi-attach hook)."""
    attr = A.ProgAttachAttr()
    attr.target_fd = int(target_fd)
    attr.attach_bpf_fd = _fd(prog_fd)
    attr.attach_type = attach_type
    bpf(bpf_cmd.PROG_DETACH, attr, detail)


class QueryResult(Record):
    __slots__ = ("attach_flags", "prog_ids", "revision")

    attach_flags: int
    prog_ids: List[int]
    revision: int

    def __init__(
            self,
            attach_flags: int,
            prog_ids: Optional[List[int]] = None,
            revision: int = 0,
    ) -> None:
        self.attach_flags = attach_flags
        self.prog_ids = list() if prog_ids is None else prog_ids
        self.revision = revision


def prog_query(target_fd: int, attach_type: int, query_flags: int = 0,
               max_progs: int = 64) -> QueryResult:
    """The programs attached at a hook (BPF_PROG_QUERY)."""
    ids = (ctypes.c_uint32 * max_progs)()
    attr = A.ProgQueryAttr()
    attr.target_fd = int(target_fd)
    attr.attach_type = attach_type
    attr.query_flags = query_flags
    attr.prog_ids = ctypes.addressof(ids)
    attr.prog_cnt = max_progs
    bpf(bpf_cmd.PROG_QUERY, attr)
    return QueryResult(attach_flags=attr.attach_flags,
                       prog_ids=list(ids[: min(attr.prog_cnt, max_progs)]),
                       revision=attr.revision)


def iter_create(link_fd: FDLike) -> FD:
    """A readable fd that runs an iterator link's program once per read pass."""
    attr = A.IterCreateAttr()
    attr.link_fd = int(link_fd)
    return FD(bpf(bpf_cmd.ITER_CREATE, attr))


def enable_stats(kind: int = bpf_stats_type.RUN_TIME) -> FD:
    """Turn on run-time statistics (run_cnt, run_time_ns) while the returned fd is open."""
    attr = A.EnableStatsAttr()
    attr.type = kind
    return FD(bpf(bpf_cmd.ENABLE_STATS, attr))
