"""trace_open: file opens (open, openat, openat2) with the descriptor or
error, decoded flags and mode, the name as passed and, with ``paths``, the
full path of the file opened. Architectures without open(2) (arm64 and the
others on asm-generic/unistd.h) have only the openat/openat2 tracepoints:
the gadget runs there on those two."""
from __future__ import annotations

from .common.declared import Declared
from .common.decode import join_path
from .common.formats import errno_name, file_mode, open_flags
from .common.gadget import Field, Gadget, Hook, HookSet, Param
from .common.session import run_function

PATH_TRUNCATED = 1  # path_flags in struct event (bpf/gadgets/trace_open.bpf.c)
AT_FDCWD = -100


#: the gadget's fields over struct event's members (gadgets.common.declared)
FIELDS = Declared({
    "ret": "ret",
    "fd": "ret if ret >= 0 else -1",
    "error": "errno_name(ret) if ret < 0 else ''",
    "flags": "open_flags(flags)",
    "flags_raw": "flags",
    "mode": "file_mode(mode) if mode else ''",  # most opens give none: no call
    "mode_raw": "mode",
    "dfd": "'AT_FDCWD' if dfd == AT_FDCWD else dfd",
    "fname": "fname",  # decoded by the codec: cut at the first NUL
    "path": "join_path(path, path_size, bool(path_flags & PATH_TRUNCATED)) if path_size else ''",
}, {"errno_name": errno_name, "open_flags": open_flags, "file_mode": file_mode,
    "join_path": join_path, "AT_FDCWD": AT_FDCWD, "PATH_TRUNCATED": PATH_TRUNCATED})


def _hook_set(*syscalls: str) -> HookSet:
    """The enter and exit tracepoints of ``syscalls`` and their programs."""
    edges = [(s, d) for s in syscalls for d in ("enter", "exit")]
    return HookSet(tuple(Hook("tracepoint", f"syscalls/sys_{d}_{s}") for s, d in edges),
                   tuple(f"trace_{s}_{d}" for s, d in edges))


GADGET = Gadget(
    name="trace_open",
    category="trace",
    description="file opens: fd or error, flags, mode, file name, full path (--paths)",
    object="trace_open",
    hooks=[],
    hook_sets=(_hook_set("open", "openat", "openat2"), _hook_set("openat", "openat2")),
    params=[
        Param("paths", "resolve the full path of each file opened", default=False,
              constant="targ_full_path"),
        Param("failed", "only failed opens", default=False, constant="targ_failed"),
    ],
    fields=[
        Field("ret", "return value: fd, or -errno", -5, type=int),
        Field("fd", "file descriptor (-1 on error)", -4, True, "FD", type=int),
        Field("error", "error name (ENOENT...)", 8, True, "ERROR"),
        Field("flags", "open flags (O_RDONLY|O_CLOEXEC...)", 24, True, "FLAGS"),
        Field("flags_raw", "open flags as a number", -8, type=int),
        Field("mode", "creation mode (octal), when O_CREAT/O_TMPFILE", 5),
        Field("mode_raw", "creation mode as a number", -6, type=int),
        Field("dfd", "directory descriptor the name is relative to", 8),
        Field("fname", "file name as passed", 0, True, "FILE"),
        Field("path", "full path of the file opened (--paths)", 0),
    ],
    present=FIELDS,
    needs=("btf", "ringbuf", "bpf_loop"),
    raw_members=("path",),
)

run = run_function(GADGET)
