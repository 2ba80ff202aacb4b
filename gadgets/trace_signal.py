"""trace_signal: signals sent with kill/tkill/tgkill (sender, target,
signal, error) and, with ``generated``, signals the kernel generates."""
from __future__ import annotations

import signal
from typing import Any

from .common.declared import Declared
from .common.formats import errno_name, signal_name
from .common.gadget import Field, Gadget, Hook, Param
from .common.session import run_function

KIND_GENERATED = 4  # KIND_* in trace_signal.bpf.c
KINDS = {1: "kill", 2: "tkill", 3: "tgkill", KIND_GENERATED: "generated"}
# enum trace_signal_deliver (include/trace/events/signal.h)
DELIVERY = {0: "", 1: "ignored", 2: "already pending", 3: "overflow", 4: "info lost"}


def signal_number(value: Any) -> int:
    """--signal: a number, KILL or SIGKILL."""
    text = str(value)
    if text.isdigit():
        return int(text)
    name = text.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise ValueError(f"unknown signal {text!r}") from None


#: the gadget's fields over struct event's members (gadgets.common.declared)
FIELDS = Declared({
    "kind": "KINDS.get(kind, str(kind))",
    "signal": "signal_name(sig)",
    "signal_raw": "sig",
    "target.pid": "target_pid",
    "target.tid": "target_tid",
    "target.comm": "target_comm",  # decoded by the codec: cut at the first NUL
    "ret": "ret",
    "error": "(DELIVERY.get(ret, str(ret)) if kind == KIND_GENERATED"
             " else errno_name(ret) if ret < 0 else '')",
    "code": "code",
}, {"KINDS": KINDS, "DELIVERY": DELIVERY, "KIND_GENERATED": KIND_GENERATED,
    "signal_name": signal_name, "errno_name": errno_name})


GADGET = Gadget(
    name="trace_signal",
    category="trace",
    description="signals sent (kill/tkill/tgkill, kernel-generated with --generated)",
    object="trace_signal",
    hooks=[Hook("tracepoint", f"syscalls/sys_{d}_{s}")
           for s in ("kill", "tkill", "tgkill") for d in ("enter", "exit")]
    + [Hook("tracepoint", "signal/signal_generate")],
    params=[
        Param("generated", "also signals the kernel generates (faults, SIGCHLD, timers)",
              default=False, constant="targ_generated"),
        Param("signal", "only this signal (SIGKILL, KILL or 9)", signal_number, None,
              constant="targ_signal"),
        Param("failed", "only signals that failed", default=False, constant="targ_failed"),
    ],
    fields=[
        Field("kind", "kill, tkill, tgkill or generated", 9, True, "KIND"),
        Field("signal", "signal name (SIGKILL...)", 9, True, "SIGNAL"),
        Field("signal_raw", "signal number", -3, type=int),
        Field("target.pid", "target process id (kill, tgkill, generated)", -7, True, "TPID",
              type=int),
        Field("target.tid", "target thread id (tkill, tgkill)", -7, type=int),
        Field("target.comm", "target command name (generated signals)", 16),
        Field("ret", "return value (0 or -errno; delivery result when generated)", -4, type=int),
        Field("error", "error name (ESRCH, EPERM...) or delivery result", 16, True, "ERROR"),
        Field("code", "si_code of a generated signal", -4, type=int),
    ],
    present=FIELDS,
)

run = run_function(GADGET)
