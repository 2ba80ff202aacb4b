"""Attachments made by bpf() alone: raw tracepoints, BTF-typed tracing
programs (tp_btf, fentry, fexit, fmod_ret, lsm), iterators, cgroup hooks
and XDP."""
from __future__ import annotations

import fcntl
import os
import struct

from pybpf import sys as bpfsys
from pybpf.errors import LinkError, SyscallError
from pybpf.links.base import Link
from pybpf.links.common import NO_LINK_ERRNOS, link_error, prog_fd, prog_name
from pybpf.sys.fd import FD
from pybpf.uapi import BPF_F_ALLOW_MULTI, bpf_attach_type, name_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List, Optional, Union

    from pybpf.links.common import ProgLike
    from pybpf.maps import Map


def _section_target(prog: ProgLike) -> str:
    section = str(getattr(prog, "section", "") or "")
    return section.split("/", 1)[1] if "/" in section else section


def attach_raw_tracepoint(prog: ProgLike, name: Optional[str] = None) -> Link:
    """Attach a raw_tp program to raw tracepoint ``name`` (default: from its SEC name)."""
    name = name or _section_target(prog)
    if not name:
        raise LinkError(f"program {prog_name(prog)!r}: raw_tp needs a tracepoint name")
    try:
        fd = bpfsys.raw_tracepoint_open(name, prog_fd(prog))
    except SyscallError as exc:
        raise link_error(exc, prog, f"raw tracepoint {name}") from None
    return Link("raw_tp", name, prog_name(prog), fd)


_TRACING_KIND: Dict[int, str] = {
    bpf_attach_type.TRACE_RAW_TP: "tp_btf",
    bpf_attach_type.TRACE_FENTRY: "fentry",
    bpf_attach_type.TRACE_FEXIT: "fexit",
    bpf_attach_type.MODIFY_RETURN: "fmod_ret",
    bpf_attach_type.LSM_MAC: "lsm",
}


def attach_tracing(prog: ProgLike, *, cookie: Optional[int] = None) -> Link:
    """Attach a program loaded with an attach_btf_id (tp_btf, fentry, fexit,
    fmod_ret, lsm): its target was fixed at load time."""
    attach_type = int(getattr(prog, "expected_attach_type", 0) or 0)
    kind = _TRACING_KIND.get(attach_type, "tracing")
    target = _section_target(prog)
    what = f"{kind} {target}"
    try:
        if cookie is None:
            fd = bpfsys.raw_tracepoint_open(None, prog_fd(prog))
        else:
            fd = bpfsys.link_create(prog_fd(prog), 0, attach_type, tracing_cookie=cookie,
                                    detail=what)
    except SyscallError as exc:
        raise link_error(exc, prog, what) from None
    return Link(kind, target, prog_name(prog), fd)


class IterLink(Link):
    """An iterator link: each ``open()`` starts a pass, ``read()`` returns a whole pass."""

    def open(self) -> FD:
        """A new readable fd running the iterator program as it is read."""
        try:
            return bpfsys.iter_create(self.fd)
        except SyscallError as exc:
            raise LinkError(f"program {self.program!r}: iterator {self.target}: {exc}") from None

    def read(self, chunk: int = 1 << 16) -> bytes:
        """Run one full pass and return everything the program wrote."""
        parts: List[bytes] = []
        with self.open() as fd:
            while True:
                try:
                    data = os.read(fd.fileno(), chunk)
                except OSError as exc:
                    raise LinkError(f"program {self.program!r}: reading iterator "
                                    f"{self.target}: {exc}") from None
                if not data:
                    return b"".join(parts)
                parts.append(data)


def attach_iter(prog: ProgLike, *, map: Optional[Union[Map, FD, int]] = None, task_pid: int = 0, task_tid: int = 0,
                cgroup_fd: int = 0, cgroup_order: int = 0) -> IterLink:
    """Create an iterator link (BPF_TRACE_ITER). ``map`` for map-element
    iterators; ``task_pid``/``task_tid`` restrict task iterators;
    ``cgroup_fd``/``cgroup_order`` for cgroup iterators."""
    info: Optional[bytes] = None
    if map is not None:
        info = struct.pack("<I", int(map if isinstance(map, (int, FD)) else map.fd))
    elif cgroup_fd:
        info = struct.pack("<IIQ", cgroup_order, cgroup_fd, 0)
    elif task_pid or task_tid:
        info = struct.pack("<III", task_tid, task_pid, 0)
    target = _section_target(prog) or "iter"
    try:
        fd = bpfsys.link_create(prog_fd(prog), 0, bpf_attach_type.TRACE_ITER, iter_info=info,
                                detail=f"iter {target}")
    except SyscallError as exc:
        raise link_error(exc, prog, f"iterator {target}") from None
    return IterLink("iter", target, prog_name(prog), fd)


def attach_cgroup(prog: ProgLike, cgroup_path: str, attach_type: Optional[int] = None,
                  flags: int = 0) -> Link:
    """Attach to the cgroup v2 directory ``cgroup_path`` (default attach type:
    the program's expected_attach_type). Uses a BPF link; kernels without
    cgroup links get BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI, undone on close."""
    if attach_type is None:
        attach_type = int(getattr(prog, "expected_attach_type", 0) or 0)
    type_name = name_of(bpf_attach_type, attach_type).lower()
    target = f"{cgroup_path} ({type_name})"
    what = f"cgroup {target}"
    try:
        cgroup = FD(os.open(cgroup_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
    except OSError as exc:
        raise link_error(exc, prog, what) from None
    try:
        lfd = bpfsys.link_create(prog_fd(prog), cgroup.fileno(), attach_type, flags, detail=what)
    except SyscallError as exc:
        if exc.errno not in NO_LINK_ERRNOS:
            cgroup.close()
            raise link_error(exc, prog, what) from None
        return _prog_attach_cgroup(prog, cgroup, attach_type, flags, target)
    cgroup.close()
    return Link("cgroup", target, prog_name(prog), lfd)


def _prog_attach_cgroup(prog: ProgLike, cgroup: FD, attach_type: int, flags: int, target: str) -> Link:
    # the detach on close needs the program: keep our own reference to it
    prog_dup = FD(fcntl.fcntl(prog_fd(prog), fcntl.F_DUPFD_CLOEXEC, 0))
    try:
        bpfsys.prog_attach(cgroup.fileno(), prog_dup, attach_type, flags | BPF_F_ALLOW_MULTI,
                           detail=f"cgroup {target}")
    except SyscallError as exc:
        prog_dup.close()
        cgroup.close()
        raise link_error(exc, prog, f"cgroup {target}") from None
    link = Link("cgroup", target, prog_name(prog))
    link.on_close(cgroup.close)
    link.on_close(prog_dup.close)
    link.on_close(lambda: bpfsys.prog_detach(cgroup.fileno(), attach_type, prog_dup))
    return link


def attach_xdp(prog: ProgLike, dev: Union[int, str], flags: int = 0) -> Link:
    """Attach an XDP program to network device ``dev`` (name or ifindex)."""
    from pybpf.links.netlink import ifindex_of  # deferred: netlink imports socket (import cost)
    ifindex = ifindex_of(dev)
    what = f"xdp {dev}"
    try:
        fd = bpfsys.link_create(prog_fd(prog), ifindex, bpf_attach_type.XDP, flags, detail=what)
    except SyscallError as exc:
        raise link_error(exc, prog, what) from None
    return Link("xdp", str(dev), prog_name(prog), fd)
