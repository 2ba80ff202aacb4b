"""Helpers every attach function shares: reading a program's fd and name,
turning a failed syscall into a LinkError that names program and hook, and
attaching a program to a perf event (BPF link, or the pre-5.15 ioctls)."""
from __future__ import annotations

import errno as errno_mod

from pybpf import sys as bpfsys
from pybpf.errors import LinkError, MissingHookError, SyscallError
from pybpf.links.base import Link
from pybpf.sys import perf as sysperf
from pybpf.sys.fd import FD
from pybpf.uapi import bpf_attach_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Optional, Union

    from pybpf.programs import Program
    ProgLike = Union["Program", FD, int]

#: What an attach function takes as its program: a Program, or its fd (an FD or an int).
#: Its name, section and attach type are read when it has them.

# errnos meaning "this kernel has no such hook / feature"
_MISSING = {errno_mod.ENOENT, errno_mod.ESRCH, errno_mod.EOPNOTSUPP, errno_mod.ENOSYS, 524}
# errnos meaning "no BPF perf link on this kernel; use the ioctls"
NO_LINK_ERRNOS = {errno_mod.EINVAL, errno_mod.EOPNOTSUPP, 524}


def prog_fd(prog: ProgLike) -> int:
    """The program's fd as an int (a Program, an FD or an int)."""
    return int(prog if isinstance(prog, (int, FD)) else prog.fd)


def prog_name(prog: ProgLike) -> str:
    return str(getattr(prog, "name", f"fd {prog_fd(prog)}"))


def link_error(exc: BaseException, prog: ProgLike, what: str) -> LinkError:
    """A LinkError (MissingHookError for 'no such hook' errnos) naming ``prog`` and ``what``."""
    err = getattr(exc, "errno", None)
    cls = MissingHookError if err in _MISSING else LinkError
    error = cls(f"program {prog_name(prog)!r}: cannot attach to {what}: {exc}")
    error.errno = err  # type: ignore[attr-defined]
    return error


def attach_perf_fd(prog: ProgLike, pfd: FD, kind: str, target: str, cookie: Optional[int] = None,
                   cleanup: Optional[Callable[[], None]] = None) -> Link:
    """Attach ``prog`` to the open perf event ``pfd`` and return a Link owning
    both. Uses BPF_LINK_CREATE(BPF_PERF_EVENT); kernels without perf links
    (before 5.15) get PERF_EVENT_IOC_SET_BPF + ENABLE. ``cleanup`` (removing a
    legacy probe event) runs after ``pfd`` is closed, on close or on failure."""
    what = f"{kind} {target}"
    try:
        try:
            lfd: Optional[FD] = bpfsys.link_create(prog_fd(prog), pfd.fileno(),
                                                   bpf_attach_type.PERF_EVENT, bpf_cookie=cookie,
                                                   detail=what)
        except SyscallError as exc:
            if exc.errno not in NO_LINK_ERRNOS or cookie is not None:
                raise link_error(exc, prog, what) from None
            try:
                sysperf.perf_event_ioc_set_bpf(pfd.fileno(), prog_fd(prog))
                sysperf.perf_event_ioc_enable(pfd.fileno())
            except SyscallError as ioc_exc:
                error = link_error(ioc_exc, prog, what)
                error.args = (f"{error.args[0]} (after {exc})",)
                raise error from None
            lfd = None
    except BaseException:
        pfd.close()
        if cleanup is not None:
            cleanup()
        raise
    link = Link(kind, target, prog_name(prog), lfd)
    if cleanup is not None:
        link.on_close(cleanup)
    link.on_close(pfd.close)
    return link
