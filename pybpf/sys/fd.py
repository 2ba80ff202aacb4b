"""FD: the single owner of one kernel file descriptor.

Every BPF object pybpf creates (map, program, link, BTF, perf event) is held
by exactly one FD. ``close()`` is idempotent; ``with FD(...)`` closes on
exit. A forgotten FD is closed when garbage-collected, with a
ResourceWarning, like Python's own file objects.
"""
from __future__ import annotations

import errno
import fcntl
import os
import warnings

from pybpf.errors import syscall_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional


class FD:
    """Owns the descriptor ``fd`` (a non-negative int) from construction on."""

    __slots__ = ("_fd", "__weakref__")

    def __init__(self, fd: int) -> None:
        fd = int(fd)
        if fd < 0:
            raise ValueError(f"invalid file descriptor {fd}")
        self._fd: Optional[int] = fd

    @property
    def closed(self) -> bool:
        return self._fd is None

    def fileno(self) -> int:
        """The raw descriptor; raises BadFDError once closed."""
        if self._fd is None:
            raise syscall_error("fileno", errno.EBADF, "file descriptor already closed")
        return self._fd

    __int__ = fileno
    __index__ = fileno

    def close(self) -> None:
        """Close the descriptor; later calls do nothing."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def release(self) -> int:
        """Give up ownership and return the raw descriptor (the caller must close it)."""
        fd = self.fileno()
        self._fd = None
        return fd

    def dup(self) -> "FD":
        """A new FD for the same kernel object (F_DUPFD_CLOEXEC)."""
        return FD(fcntl.fcntl(self.fileno(), fcntl.F_DUPFD_CLOEXEC, 0))

    def __enter__(self) -> "FD":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is None:
            return
        self._fd = None
        try:
            warnings.warn(f"unclosed pybpf FD {fd}", ResourceWarning, stacklevel=2)
            os.close(fd)
        except Exception:  # interpreter shutdown: modules may be gone
            pass

    def __repr__(self) -> str:
        return f"FD({self._fd})" if self._fd is not None else "FD(closed)"
