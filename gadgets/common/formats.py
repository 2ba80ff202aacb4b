"""Human forms of kernel values, for every gadget: errno names, open flags,
file modes and types, signal and capability names, address families,
addresses and endpoints, block device names."""
from __future__ import annotations

import errno
import functools
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Tuple

AF_INET, AF_INET6 = 2, 10


@functools.lru_cache(maxsize=1024)
def errno_name(err: int) -> str:
    """2 or -2 -> "ENOENT"; 0 -> ""."""
    err = abs(int(err))
    if not err:
        return ""
    return errno.errorcode.get(err, f"E{err}")


def result(ret: int) -> Tuple[int, str]:
    """A syscall return value -> (value or -1, error name or "")."""
    return (ret, "") if ret >= 0 else (-1, errno_name(ret))


# uapi asm-generic/fcntl.h (x86 uses the generic values)
_OPEN_FLAGS: List[Tuple[int, str]] = [
    (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"), (0o20000, "FASYNC"),
    (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"),
    (0o4010000, "O_SYNC"), (0o10000000, "O_PATH"), (0o20200000, "O_TMPFILE"),
]
_ACCMODE = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}


# multi-bit flags (O_SYNC, O_TMPFILE) first, so their single bits are not named twice
_OPEN_FLAGS_ORDER = sorted(_OPEN_FLAGS, key=lambda b: -bin(b[0]).count("1"))


@functools.lru_cache(maxsize=1024)
def open_flags(flags: int) -> str:
    """0o2000000 -> "O_RDONLY|O_CLOEXEC"."""
    names = [_ACCMODE[flags & 3]]
    rest = flags & ~3
    for bit, name in _OPEN_FLAGS_ORDER:
        if rest & bit == bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append(oct(rest))
    return "|".join(names)


def file_mode(mode: int) -> str:
    """Permission bits in octal ("0644"), "" when zero."""
    return f"{mode:04o}" if mode else ""


def signal_name(sig: int) -> str:
    """9 -> "SIGKILL", 35 -> "SIGRTMIN+1"; the number's text when it names none."""
    # the signal module (it builds its enums as it is imported, ~0.8 ms) only for the
    # gadgets that show signals (trace_signal), not every gadget that uses this module
    import signal

    if sig == 0:
        return "0"
    try:
        return signal.Signals(sig).name
    except ValueError:
        if signal.SIGRTMIN <= sig <= signal.SIGRTMAX:
            return f"SIGRTMIN+{sig - signal.SIGRTMIN}"
        return str(sig)


# uapi linux/capability.h
CAPABILITIES: Dict[int, str] = dict(enumerate((
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE")))


def capability_name(cap: int) -> str:
    return "CAP_" + CAPABILITIES[cap] if cap in CAPABILITIES else str(cap)


def family_name(family: int) -> str:
    return {AF_INET: "AF_INET", AF_INET6: "AF_INET6", 1: "AF_UNIX"}.get(family, str(family))


def ip_text(family: int, raw: Any) -> str:
    """An address from the kernel's 16-byte array (IPv4 in the first 4 bytes)
    as text; "" for another family. Connections repeat the same few addresses:
    the text of each (family, bytes) is kept."""
    data = bytes(raw) if not isinstance(raw, list) else bytes(b & 0xFF for b in raw)
    return _ip_text(family, data)


@functools.lru_cache(maxsize=1024)
def _ip_text(family: int, data: bytes) -> str:
    import ipaddress  # here: only the network gadgets show addresses (1-2 ms at start)

    if family == AF_INET:
        return str(ipaddress.IPv4Address(data[:4]))
    if family == AF_INET6:
        return str(ipaddress.IPv6Address(data[:16]))
    return ""


def endpoint(family: int, addr: str, port: int) -> str:
    """``1.2.3.4:80`` or ``[::1]:80``."""
    return f"[{addr}]:{port}" if family == AF_INET6 else f"{addr}:{port}"


_FILE_TYPES = {0o010000: "fifo", 0o020000: "char", 0o040000: "dir", 0o060000: "block",
               0o100000: "regular", 0o120000: "symlink", 0o140000: "socket"}


def file_type(mode: int) -> str:
    """The type of an inode mode: regular, dir, socket, fifo, char, block, symlink."""
    return _FILE_TYPES.get(mode & 0o170000, "other" if mode else "")


def disk_name(major: int, minor: int) -> str:
    """The block device name of major:minor ("vda"), or "major:minor"."""
    try:
        with open(f"/sys/dev/block/{major}:{minor}/uevent") as fh:
            for line in fh:
                if line.startswith("DEVNAME="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return f"{major}:{minor}"


def uid_name(uid: int) -> str:
    try:
        import pwd
        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


def strerror(err: int) -> str:
    return os.strerror(abs(err)) if err else ""
