"""The raw bpf(2) system call through ctypes, and the RLIMIT_MEMLOCK fix-up.

``bpf(cmd, attr)`` returns the kernel's non-negative result or raises the
typed SyscallError for the errno. Kernels before 5.11 charge BPF memory to
RLIMIT_MEMLOCK; on those (or on an EPERM that may come from it) the limit is
raised to infinity once, when the process is allowed to.
"""
from __future__ import annotations

import ctypes
import errno
import os
import resource
import threading

from pybpf.errors import syscall_error
from pybpf.sys.attrs import Attr
from pybpf.uapi import bpf_cmd, name_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Tuple

# __NR_bpf by `uname -m`.
_BPF_SYSCALL_NR = {
    "x86_64": 321,
    "amd64": 321,
    "aarch64": 280,
    "arm64": 280,
    "riscv64": 280,
    "loongarch64": 280,
    "i386": 357,
    "i686": 357,
    "armv7l": 386,
    "armv6l": 386,
    "ppc64le": 361,
    "ppc64": 361,
    "s390x": 351,
}

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_syscall.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]

_nr: Optional[int] = None


def syscall_number() -> int:
    """__NR_bpf for this machine; NotSupportedError on an unknown architecture."""
    global _nr
    if _nr is None:
        machine = os.uname().machine
        if machine not in _BPF_SYSCALL_NR:
            raise syscall_error("bpf", errno.ENOSYS, f"no bpf syscall number known for {machine}")
        _nr = _BPF_SYSCALL_NR[machine]
    return _nr


def parse_release(release: str) -> Tuple[int, int, int]:
    """(major, minor, patch) from a release string such as ``"6.18.44-fc-v857"``."""
    parts = []
    for piece in release.split(".")[:3]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits) if digits else 0)
        if digits != piece:
            break
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


def kernel_release() -> Tuple[int, int, int]:
    """(major, minor, patch) of the running kernel from uname -r."""
    return parse_release(os.uname().release)


def kernel_version_code() -> int:
    """LINUX_VERSION_CODE of the running kernel (patch capped at 255, as the kernel does)."""
    major, minor, patch = kernel_release()
    return (major << 16) + (minor << 8) + min(patch, 255)


class _Memlock:
    """Raises RLIMIT_MEMLOCK at most once per process, only where it matters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.checked = False
        self.raised = False

    def before_alloc(self) -> None:
        """Before the first MAP_CREATE/PROG_LOAD/BTF_LOAD: fix the limit on pre-5.11 kernels."""
        if self.checked:
            return
        with self._lock:
            if not self.checked:
                self.checked = True
                if kernel_release() < (5, 11, 0):
                    self.raise_limit()

    def raise_limit(self) -> bool:
        """Set RLIMIT_MEMLOCK to infinity; True when it changed the limit."""
        if self.raised:
            return False
        self.raised = True
        inf = resource.RLIM_INFINITY
        try:
            if resource.getrlimit(resource.RLIMIT_MEMLOCK) == (inf, inf):
                return False
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (inf, inf))
        except (ValueError, OSError):
            return False
        return True


memlock = _Memlock()
_ALLOCATING = (bpf_cmd.MAP_CREATE, bpf_cmd.PROG_LOAD, bpf_cmd.BTF_LOAD)


def bpf_raw(cmd: int, attr: Attr, size: Optional[int] = None) -> Tuple[int, int]:
    """One bpf() call: (result, errno); result < 0 means failure. EINTR is retried."""
    if size is None:
        size = attr.size()
    nr = syscall_number()
    while True:
        ret = _syscall(nr, int(cmd), ctypes.addressof(attr), size)
        if ret >= 0:
            return ret, 0
        err = ctypes.get_errno()
        if err != errno.EINTR:
            return ret, err


def bpf(cmd: int, attr: Attr, detail: str = "", size: Optional[int] = None) -> int:
    """bpf(cmd, &attr, size): the result, or raise ``syscall_error("BPF_<CMD>", errno, detail)``."""
    if cmd in _ALLOCATING:
        memlock.before_alloc()
    ret, err = bpf_raw(cmd, attr, size)
    if err == errno.EPERM and cmd in _ALLOCATING and memlock.raise_limit():
        ret, err = bpf_raw(cmd, attr, size)
    if err:
        raise syscall_error(cmd_name(cmd), err, detail)
    return ret


def cmd_name(cmd: int) -> str:
    """``"BPF_MAP_CREATE"`` for bpf_cmd.MAP_CREATE."""
    name = name_of(bpf_cmd, cmd, default="")
    return "BPF_" + name if name else f"bpf(cmd={cmd})"
