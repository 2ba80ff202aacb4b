"""trace_exec: every program execution (execve/execveat) with its full
argument list, executable path, working directory and result.

As BCC's execsnoop: failed execs are shown with ``-x``/``--fails`` only, and
``--max-args`` bounds the arguments read (20 by default), both in the kernel.

Library use::

    from pybpf_gadgets import trace_exec
    with trace_exec.run(container="web", timeout=10) as events:
        for e in events:
            print(e["proc"]["comm"], e["args"])
"""
from __future__ import annotations

from .common.declared import Declared
from .common.decode import join_path, split_strings
from .common.formats import errno_name
from .common.gadget import Field, Gadget, Hook, Param
from .common.options import integer
from .common.session import run_function

# flags in struct event (bpf/gadgets/trace_exec.bpf.c)
ARGS_TRUNCATED, EXE_TRUNCATED, CWD_TRUNCATED = 1, 2, 4
MAX_ARGS = 64  # ARGS_COUNT_MAX: the most arguments the program reads


#: the gadget's fields over struct event's members (gadgets.common.declared)
FIELDS = Declared({
    "ret": "retval",
    "error": "errno_name(retval)",
    "file": "file",  # decoded by the codec: cut at the first NUL
    "exe": "join_path(exe, exe_size, bool(flags & EXE_TRUNCATED)) if exe_size else ''",
    "cwd": "join_path(cwd, cwd_size, bool(flags & CWD_TRUNCATED))"
           " if cwd_size or not flags & CWD_TRUNCATED else ''",
    "args": "split_strings(args, args_size)",
    "args_count": "args_count",
    "args_truncated": "bool(flags & ARGS_TRUNCATED)",
}, {"errno_name": errno_name, "join_path": join_path, "split_strings": split_strings,
    "EXE_TRUNCATED": EXE_TRUNCATED, "CWD_TRUNCATED": CWD_TRUNCATED,
    "ARGS_TRUNCATED": ARGS_TRUNCATED})


GADGET = Gadget(
    name="trace_exec",
    category="trace",
    description="program executions: argv, exe path, cwd, return code",
    object="trace_exec",
    hooks=[Hook("tracepoint", "syscalls/sys_enter_execve"),
           Hook("tracepoint", "syscalls/sys_exit_execve"),
           Hook("tracepoint", "syscalls/sys_enter_execveat"),
           Hook("tracepoint", "syscalls/sys_exit_execveat")],
    params=[
        Param("fails", "include failed execs (as BCC's execsnoop -x)", default=False,
              constant="targ_fails", aliases=("-x",)),
        Param("max_args", f"read at most N arguments (1 to {MAX_ARGS}; default 20)",
              integer("max_args", 1, MAX_ARGS), 20, constant="targ_max_args"),
    ],
    fields=[
        Field("proc.ppid", "parent process id", -7, True, "PPID", type=int),
        Field("ret", "execve return value (0, or -errno)", -4, True, "RET", type=int),
        Field("error", "error name when the exec failed (ENOENT...)", 8, True, "ERROR"),
        Field("file", "file name as passed to execve", 24),
        Field("exe", "path of the executable run", 32),
        Field("cwd", "working directory", 24),
        Field("args", "argv (--max-args arguments, 20 by default; 4 KiB at most)", 0, True,
              "ARGS", type=list),
        Field("args_count", "arguments kept", -4, type=int),
        Field("args_truncated", "true when argv was cut", 5, type=bool),
    ],
    present=FIELDS,
    needs=("btf", "ringbuf", "bpf_loop"),
    raw_members=("args", "exe", "cwd"),
)

run = run_function(GADGET)
