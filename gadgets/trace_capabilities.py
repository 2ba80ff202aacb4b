"""trace_capabilities: capability checks with the capability's name, the
verdict and the system call being served. Hook: the capability:cap_capable
tracepoint (6.14+), else a kprobe/kretprobe pair on cap_capable()."""
from __future__ import annotations

from typing import Any, Dict

from .common.formats import CAPABILITIES, capability_name
from .common.gadget import Field, Gadget, Hook, HookSet, Param
from .common.session import run_function
from .common.syscalls import syscall_name


def capability(value: Any) -> int:
    """--cap: a number, SYS_ADMIN or CAP_SYS_ADMIN."""
    text = str(value)
    if text.isdigit():
        return int(text)
    name = text.upper()
    name = name[4:] if name.startswith("CAP_") else name
    for number, known in CAPABILITIES.items():
        if known == name:
            return number
    raise ValueError(f"unknown capability {text!r}")


def present(raw: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "cap": capability_name(raw["cap"]),
        "cap_raw": raw["cap"],
        "verdict": "allow" if raw["ret"] == 0 else "deny",
        "ret": raw["ret"],
        "syscall": syscall_name(raw["syscall"]),
        "syscall_raw": raw["syscall"],
        "target_userns": raw["target_userns"],
    }


GADGET = Gadget(
    name="trace_capabilities",
    category="trace",
    description="capability checks: capability, verdict, system call",
    object="trace_capabilities",
    hooks=[],
    hook_sets=(
        HookSet((Hook("tracepoint", "capability/cap_capable"),), ("trace_cap_capable",)),
        HookSet((Hook("kprobe", "cap_capable"),),
                ("kprobe_cap_capable", "kretprobe_cap_capable")),
    ),
    params=[
        Param("denied", "only denied checks", default=False, constant="targ_denied_only"),
        Param("cap", "only this capability (CAP_SYS_ADMIN, SYS_ADMIN or 21)", capability, None,
              constant="targ_cap"),
    ],
    fields=[
        Field("cap", "capability (CAP_SYS_ADMIN...)", 22, True, "CAP"),
        Field("cap_raw", "capability number", -3, type=int),
        Field("verdict", "allow or deny", 7, True, "VERDICT"),
        Field("ret", "0, or -EPERM when denied", -4, type=int),
        Field("syscall", "system call being served", 16, True, "SYSCALL"),
        Field("syscall_raw", "system call number (-1: none)", -4, type=int),
        Field("target_userns", "user namespace checked against (inode)", -11, type=int),
    ],
    present=present,
)

run = run_function(GADGET)
