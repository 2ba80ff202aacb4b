"""The pseudo file systems BPF needs: bpffs (pins) and tracefs (tracepoint ids).

Owns telling which file system a path is on (statfs magic), finding tracefs
(/sys/kernel/tracing, else /sys/kernel/debug/tracing), and mounting either
at its usual place when it is missing: a root process mounts it, as bpftool
does for bpffs, and says so once on stderr; any other process gets one
MountError naming the missing mount and the command that fixes it.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading

from pybpf.errors import BPFError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

BPF_FS_MAGIC = 0xCAFE4A11
TRACEFS_MAGIC = 0x74726163
BPFFS_DIR = "/sys/fs/bpf"
TRACEFS_DIRS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
_STATFS_SIZE = 256  # larger than struct statfs on every Linux ABI; f_type comes first

_libc = ctypes.CDLL(None, use_errno=True)
_libc.statfs.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_void_p]
_lock = threading.Lock()


class MountError(BPFError):
    """A file system BPF needs (bpffs, tracefs) is not mounted and could not be."""


def fs_magic(path: str) -> Optional[int]:
    """The f_type of the file system holding ``path`` (None if it cannot be asked)."""
    buf = ctypes.create_string_buffer(_STATFS_SIZE)
    if _libc.statfs(os.fsencode(path), buf) != 0:
        return None
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF


def is_bpffs(path: str) -> bool:
    return fs_magic(path) == BPF_FS_MAGIC


def _mount(fstype: str, where: str, options: str = "") -> None:
    data = options.encode() or None
    if _libc.mount(fstype.encode(), where.encode(), fstype.encode(), 0, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), where)
    print(f"pybpf: mounted {fstype} at {where}", file=sys.stderr)


def _fix(fstype: str, where: str) -> str:
    return f"mount -t {fstype} {fstype} {where}"


def _mount_or_explain(fstype: str, where: str, why: str, options: str = "") -> None:
    if os.geteuid() != 0:
        raise MountError(f"{why}: {fstype} is not mounted at {where}; as root run: "
                         f"{_fix(fstype, where)}")
    try:
        _mount(fstype, where, options)
    except OSError as exc:
        raise MountError(f"{why}: {fstype} is not mounted at {where} and mounting it failed "
                         f"({exc.strerror}); run: {_fix(fstype, where)}") from None


def tracefs_root(why: str = "tracepoints") -> str:
    """Where tracefs is mounted, mounting it at /sys/kernel/tracing if root and absent."""
    with _lock:
        for path in TRACEFS_DIRS:
            if fs_magic(path) == TRACEFS_MAGIC:
                return path
        _mount_or_explain("tracefs", TRACEFS_DIRS[0], why)
        return TRACEFS_DIRS[0]


def ensure_bpffs(why: str = "pinning") -> None:
    """Mount bpffs at /sys/fs/bpf if root and it is not there (MountError otherwise)."""
    with _lock:
        if not is_bpffs(BPFFS_DIR):
            _mount_or_explain("bpf", BPFFS_DIR, why, "mode=0700")
