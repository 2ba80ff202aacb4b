"""trace_mount: mount/umount and the new mount API (fsopen, fsconfig,
fsmount, move_mount, open_tree, mount_setattr): operation, source, target,
file system type, flags, options, latency and result."""
from __future__ import annotations

from typing import List, Tuple

from .common.declared import Declared
from .common.formats import errno_name
from .common.gadget import Field, Gadget, Hook
from .common.session import run_function

# enum op in bpf/gadgets/trace_mount.bpf.c
OP_MOUNT, OP_UMOUNT, OP_FSCONFIG = 1, 2, 4
OPS = {OP_MOUNT: "mount", OP_UMOUNT: "umount", 3: "fsopen", OP_FSCONFIG: "fsconfig",
       5: "fsmount", 6: "move_mount", 7: "open_tree", 8: "mount_setattr"}

# uapi linux/mount.h
_MS: List[Tuple[int, str]] = [
    (1, "MS_RDONLY"), (2, "MS_NOSUID"), (4, "MS_NODEV"), (8, "MS_NOEXEC"),
    (16, "MS_SYNCHRONOUS"), (32, "MS_REMOUNT"), (64, "MS_MANDLOCK"), (128, "MS_DIRSYNC"),
    (256, "MS_NOSYMFOLLOW"), (1024, "MS_NOATIME"), (2048, "MS_NODIRATIME"), (4096, "MS_BIND"),
    (8192, "MS_MOVE"), (16384, "MS_REC"), (32768, "MS_SILENT"), (1 << 16, "MS_POSIXACL"),
    (1 << 17, "MS_UNBINDABLE"), (1 << 18, "MS_PRIVATE"), (1 << 19, "MS_SLAVE"),
    (1 << 20, "MS_SHARED"), (1 << 21, "MS_RELATIME"), (1 << 22, "MS_KERNMOUNT"),
    (1 << 23, "MS_I_VERSION"), (1 << 24, "MS_STRICTATIME"), (1 << 25, "MS_LAZYTIME"),
]
_MNT: List[Tuple[int, str]] = [(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"),
                               (8, "UMOUNT_NOFOLLOW")]
_FSCONFIG = {0: "FSCONFIG_SET_FLAG", 1: "FSCONFIG_SET_STRING", 2: "FSCONFIG_SET_BINARY",
             3: "FSCONFIG_SET_PATH", 4: "FSCONFIG_SET_PATH_EMPTY", 5: "FSCONFIG_SET_FD",
             6: "FSCONFIG_CMD_CREATE", 7: "FSCONFIG_CMD_RECONFIGURE",
             8: "FSCONFIG_CMD_CREATE_EXCL"}
MS_MGC_MSK = 0xFFFF0000
MS_MGC_VAL = 0xC0ED0000


def _bits(value: int, table: List[Tuple[int, str]]) -> str:
    names = [name for bit, name in table if value & bit]
    rest = value & ~sum(bit for bit, _ in table)
    if rest:
        names.append(hex(rest))
    return "|".join(names)


def op_name(op: int) -> str:
    return OPS.get(op, str(op))


def flags_text(op: int, flags: int) -> str:
    """The flags of operation ``op`` (enum op's number) as text."""
    if op == OP_MOUNT:
        if flags & MS_MGC_MSK == MS_MGC_VAL:
            flags &= ~MS_MGC_MSK
        return _bits(flags, _MS)
    if op == OP_UMOUNT:
        return _bits(flags, _MNT)
    if op == OP_FSCONFIG:
        return _FSCONFIG.get(flags, str(flags))
    return hex(flags) if flags else ""


#: the gadget's fields over struct event's members (gadgets.common.declared)
FIELDS = Declared({
    "op": "op_name(op)",
    "source": "source",  # the strings decoded by the codec: cut at the first NUL
    "target": "target",
    "fstype": "fstype",
    "data": "data",
    "flags": "flags_text(op, flags)",
    "flags_raw": "flags",
    "fd": "fd",
    "latency_us": "latency_ns // 1000",
    "latency_ns": "latency_ns",
    "ret": "ret",
    "error": "errno_name(ret) if ret < 0 else ''",
}, {"op_name": op_name, "flags_text": flags_text, "errno_name": errno_name})


GADGET = Gadget(
    name="trace_mount",
    category="trace",
    description="mounts: operation, source, target, fs type, flags, latency, error",
    object="trace_mount",
    hooks=[Hook("tracepoint", f"syscalls/sys_{d}_{s}")
           for s in ("mount", "umount", "fsopen", "fsconfig", "fsmount", "move_mount",
                     "open_tree", "mount_setattr") for d in ("enter", "exit")],
    fields=[
        Field("op", "mount, umount, fsopen, fsconfig, fsmount, move_mount, open_tree, "
              "mount_setattr", 13, True, "OP"),
        Field("source", "source (device, fsconfig value, move_mount/open_tree path)", 20, True,
              "SOURCE"),
        Field("target", "target directory", 24, True, "TARGET"),
        Field("fstype", "file system type", 10, True, "FSTYPE"),
        Field("flags", "flags, decoded (MS_BIND|MS_REC, MNT_DETACH, FSCONFIG_...)", 20, True,
              "FLAGS"),
        Field("flags_raw", "flags as a number", -10, type=int),
        Field("fd", "descriptor argument (-1: none)", -4, type=int),
        Field("latency_us", "time in the system call (microseconds)", -8, True, "LAT(us)",
              type=int),
        Field("latency_ns", "time in the system call (nanoseconds)", -10, type=int),
        Field("ret", "return value", -4, type=int),
        Field("error", "error name (EPERM...)", 8, True, "ERROR"),
        Field("data", "mount options, or fsconfig's key", 0, True, "DATA"),
    ],
    present=FIELDS,
)

run = run_function(GADGET)
