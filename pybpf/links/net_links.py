"""Network attachments: TC classifiers (tcx links on kernels >= 6.6, a
clsact qdisc + direct-action bpf filter over rtnetlink otherwise) and
socket filters (SO_ATTACH_BPF). A tcx link goes with its fd; a clsact filter
is registered with pybpf.links.exit_cleanup, so that it (and the qdisc pybpf
added) is removed when the process exits or gets SIGTERM without close()."""
from __future__ import annotations

import errno
import os
import socket

from pybpf import sys as bpfsys
from pybpf.errors import LinkError, SyscallError
from pybpf.links import exit_cleanup
from pybpf.links.base import Link
from pybpf.links.common import NO_LINK_ERRNOS, link_error, prog_fd, prog_name
from pybpf.links.netlink import RtNetlink, TcFilter, clsact_parent, ifindex_of
from pybpf.uapi import bpf_attach_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Set, Tuple, Union

    from pybpf.links.common import ProgLike

SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27
_TCX = {"ingress": bpf_attach_type.TCX_INGRESS, "egress": bpf_attach_type.TCX_EGRESS}
MODES = ("auto", "tcx", "clsact")
# clsact qdiscs this process created, by (netns inode, ifindex): the last of
# our filters on one removes it, unless someone else's filter is still there
_OUR_QDISCS: Set[Tuple[int, int]] = set()


def _qdisc_key(ifindex: int) -> Tuple[int, int]:
    return os.stat("/proc/thread-self/ns/net").st_ino, ifindex


def attach_tc(prog: ProgLike, dev: Union[int, str], direction: str = "ingress", mode: str = "auto", *,
              priority: int = 1, handle: Optional[int] = None) -> Link:
    """Attach a SCHED_CLS program to ``dev`` (name or ifindex) ``direction``
    ("ingress"/"egress"). ``mode``: "tcx" (BPF link), "clsact" (netlink
    filter, removed on close; the qdisc too once no filter is left on it, if
    pybpf created it) or "auto" (tcx, then clsact on kernels without tcx)."""
    if direction not in _TCX:
        raise ValueError(f"tc direction must be 'ingress' or 'egress', not {direction!r}")
    if mode not in MODES:
        raise ValueError(f"tc mode must be one of {MODES}, not {mode!r}")
    ifindex = ifindex_of(dev)
    target = f"{dev} {direction}"
    if mode in ("auto", "tcx"):
        try:
            fd = bpfsys.link_create(prog_fd(prog), ifindex, _TCX[direction],
                                    detail=f"tcx {target}")
            return Link("tcx", target, prog_name(prog), fd)
        except SyscallError as exc:
            if mode == "tcx" or exc.errno not in NO_LINK_ERRNOS:
                raise link_error(exc, prog, f"tcx {target}") from None
    return _attach_clsact(prog, ifindex, target, direction, priority, handle)


def _attach_clsact(prog: ProgLike, ifindex: int, target: str, direction: str, priority: int,
                   handle: Optional[int]) -> Link:
    what = f"tc clsact {target}"
    with RtNetlink() as nl:
        key = _qdisc_key(ifindex)
        try:
            if nl.add_clsact(ifindex):
                _OUR_QDISCS.add(key)
        except SyscallError as exc:
            raise link_error(exc, prog, what) from None
        flt = TcFilter(ifindex, clsact_parent(direction), priority, handle or 1)
        try:
            while True:
                try:
                    nl.add_bpf_filter(flt, prog_fd(prog), prog_name(prog))
                    break
                except SyscallError as exc:
                    # EEXIST: that handle is taken at this priority; try the next one
                    if handle is not None or exc.errno != errno.EEXIST or flt.handle >= 0xFFFF:
                        raise
                    flt.handle += 1
        except SyscallError as exc:
            _remove_qdisc_if_unused(nl, ifindex, key)
            raise link_error(exc, prog, what) from None
    link = Link("tc", f"{target} prio {priority} handle {flt.handle:#x}", prog_name(prog))

    def remove() -> None:
        with RtNetlink() as nl2:
            nl2.del_filter(flt)
            _remove_qdisc_if_unused(nl2, ifindex, key)

    link.on_close(remove)
    link.on_close(lambda: exit_cleanup.unregister(link))
    exit_cleanup.register(link)
    return link


def _remove_qdisc_if_unused(nl: RtNetlink, ifindex: int, key: Tuple[int, int]) -> None:
    if key not in _OUR_QDISCS:
        return
    if not any(nl.count_filters(ifindex, clsact_parent(side)) for side in ("ingress", "egress")):
        nl.del_clsact(ifindex)
        _OUR_QDISCS.discard(key)


def _setsockopt(fd: int, option: int, value: int) -> None:
    view = socket.socket(fileno=fd)  # borrows fd; detach() hands it back unclosed
    try:
        view.setsockopt(socket.SOL_SOCKET, option, value)
    finally:
        view.detach()


def attach_socket(prog: ProgLike, sock: Union[socket.socket, int]) -> Link:
    """Attach a socket filter program to ``sock`` (a socket or its fd) with
    SO_ATTACH_BPF; close() detaches it (SO_DETACH_BPF) if the socket is still open."""
    fd = sock.fileno() if hasattr(sock, "fileno") else int(sock)
    what = f"socket fd {fd}"
    try:
        _setsockopt(fd, SO_ATTACH_BPF, prog_fd(prog))
    except OSError as exc:
        raise link_error(exc, prog, what) from None
    link = Link("socket", what, prog_name(prog))

    def detach() -> None:
        if hasattr(sock, "fileno") and sock.fileno() == -1:
            return  # the socket was closed and its filter with it
        try:
            _setsockopt(fd, SO_DETACH_BPF, 0)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EBADF, errno.ENOTSOCK):
                raise LinkError(f"{link}: SO_DETACH_BPF: {exc}") from None

    link.on_close(detach)
    return link
