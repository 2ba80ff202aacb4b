"""The exception hierarchy: every failure pybpf reports is a BPFError.

Each error names what is at fault (file, program, map, relocation, hook or
syscall command) so that the CLI can print it as one line.
"""
from __future__ import annotations

import errno as _errno
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List

# Kernel-internal errnos (include/linux/errno.h, "should never be seen by user
# programs") that still leak out of bpf() and perf_event_open(): the C library
# has no name or text for them ("Unknown error 524").
KERNEL_ERRNOS = {
    512: ("ERESTARTSYS", "restart the system call"),
    513: ("ERESTARTNOINTR", "restart the system call, no interrupt"),
    514: ("ERESTARTNOHAND", "restart if no handler"),
    515: ("ENOIOCTLCMD", "no ioctl command"),
    516: ("ERESTART_RESTARTBLOCK", "restart by calling sys_restart_syscall"),
    517: ("EPROBE_DEFER", "driver requests probe retry"),
    518: ("EOPENSTALE", "open found a stale dentry"),
    519: ("ENOPARAM", "parameter not supported"),
    521: ("EBADHANDLE", "illegal NFS file handle"),
    522: ("ENOTSYNC", "update synchronization mismatch"),
    523: ("EBADCOOKIE", "cookie is stale"),
    524: ("ENOTSUPP", "operation is not supported"),
    525: ("ETOOSMALL", "buffer or request is too small"),
    526: ("ESERVERFAULT", "an untranslatable error occurred"),
    527: ("EBADTYPE", "type not supported"),
    528: ("EJUKEBOX", "request will not complete before timeout"),
    529: ("EIOCBQUEUED", "iocb queued"),
    530: ("ERECALLCONFLICT", "conflict with recalled state"),
    531: ("ENOGRACE", "NFS file lock reclaim refused"),
}


def errno_name(err: int) -> str:
    """The symbolic name of an errno, kernel-internal ones included ("ENOTSUPP")."""
    if err in KERNEL_ERRNOS:
        return KERNEL_ERRNOS[err][0]
    return _errno.errorcode.get(err, str(err))


def errno_text(err: int) -> str:
    """What strerror() says, or for a kernel-internal errno its name and meaning
    ("ENOTSUPP (kernel errno 524: operation is not supported)")."""
    if err in KERNEL_ERRNOS:
        name, meaning = KERNEL_ERRNOS[err]
        return f"{name} (kernel errno {err}: {meaning})"
    return os.strerror(err)


class BPFError(Exception):
    """Base class of every error pybpf raises on purpose."""


class ParseError(BPFError, ValueError):
    """Malformed input: an ELF object, BTF blob or .BTF.ext section."""


class ELFError(ParseError):
    """The ELF object is malformed or not a BPF object."""


class BTFError(ParseError):
    """A BTF or .BTF.ext blob is malformed."""


class LoadError(BPFError):
    """Building or loading a collection failed (names object/program/map)."""


class CoreRelocationError(LoadError):
    """A CO-RE relocation could not be computed or disagreed between candidates."""


class SyscallError(BPFError, OSError):
    """A bpf()/perf_event_open()/ioctl call failed.

    ``cmd`` is the command's name (``"BPF_MAP_CREATE"``) and ``errno`` the
    error number returned by the kernel.
    """

    def __init__(self, cmd: str, err: int, detail: str = "") -> None:
        text = f"{cmd}: {errno_text(err)}"
        if detail:
            text = f"{text} ({detail})"
        OSError.__init__(self, err, text)
        self.cmd = cmd
        self.detail = detail

    def __str__(self) -> str:
        return self.strerror or ""


class PermissionDeniedError(SyscallError):
    """EPERM / EACCES: missing capability, lockdown, or LSM refusal."""


class NotFoundError(SyscallError):
    """ENOENT: no such object, element, pin or tracepoint."""


class ExistsError(SyscallError):
    """EEXIST: the pin, element or attachment already exists."""


class NotSupportedError(SyscallError):
    """EOPNOTSUPP / ENOTSUPP / ENOSYS: the kernel lacks the feature."""


class BusyError(SyscallError):
    """EBUSY / EAGAIN: try again, or the hook is taken."""


class NoSpaceError(SyscallError):
    """E2BIG / ENOSPC / ENOMEM: a size or memory limit was hit."""


class InvalidArgumentError(SyscallError):
    """EINVAL: the kernel refused the arguments."""


class BadFDError(SyscallError):
    """EBADF: the file descriptor is not (or no longer) valid."""


# Kernels from 7.x append explanatory sections after the refusal itself; the
# refusal (the line the verifier stopped at) comes before them.
_LOG_APPENDICES = ("Causal path:", "Suggestion:")


def _refusal_part(log: str) -> List[str]:
    """The verifier log's lines up to any trailing explanatory section."""
    lines = log.rstrip().splitlines()
    for i, line in enumerate(lines):
        if line.startswith(_LOG_APPENDICES):
            return "\n".join(lines[:i]).rstrip().splitlines()
    return lines


class VerifierError(LoadError):
    """The verifier rejected a program; carries the program name and log."""

    def __init__(self, program: str, err: int, log: str, detail: str = "") -> None:
        self.program = program
        self.errno = err
        self.log = log
        body = _refusal_part(log)
        tail = "\n".join(body[-8:]) if body else "(empty verifier log)"
        msg = f"program {program!r} rejected by the kernel: {errno_text(err)}"
        if detail:
            msg += f" ({detail})"
        super().__init__(f"{msg}\n{tail}")

    def summary(self) -> str:
        """One line: the program, the errno and the last verifier log line."""
        stats = ("processed ", "verification time", "stack depth")  # trailing statistics
        lines = [ln for ln in _refusal_part(self.log) if not ln.startswith(stats)]
        last = lines[-1] if lines else "empty verifier log"
        return f"program {self.program!r} rejected by the kernel: {errno_text(self.errno)}: {last}"


class LinkError(BPFError):
    """Attaching a program failed."""


class MissingHookError(LinkError):
    """The hook (tracepoint, kprobe target, trampoline...) does not exist here."""


ENOTSUPP = 524  # kernel-internal "not supported" (see KERNEL_ERRNOS)

_BY_ERRNO = {
    _errno.EPERM: PermissionDeniedError,
    _errno.EACCES: PermissionDeniedError,
    _errno.ENOENT: NotFoundError,
    _errno.ESRCH: NotFoundError,
    _errno.EEXIST: ExistsError,
    _errno.EOPNOTSUPP: NotSupportedError,
    ENOTSUPP: NotSupportedError,
    _errno.ENOSYS: NotSupportedError,
    _errno.EBUSY: BusyError,
    _errno.EAGAIN: BusyError,
    _errno.E2BIG: NoSpaceError,
    _errno.ENOSPC: NoSpaceError,
    _errno.ENOMEM: NoSpaceError,
    _errno.EINVAL: InvalidArgumentError,
    _errno.EBADF: BadFDError,
}


def syscall_error(cmd: str, err: int, detail: str = "") -> SyscallError:
    """Return the typed SyscallError subclass for ``err``, naming ``cmd``."""
    cls = _BY_ERRNO.get(err, SyscallError)
    return cls(cmd, err, detail)
