"""trace_capabilities: capability checks with the capability's name, the
verdict, whether the kernel audits it and the system call being served.
Hook: the capability:cap_capable tracepoint (6.14+), else a kprobe/kretprobe
pair on cap_capable().

As BCC's capable, only audited checks are shown unless ``-v``/``--verbose``:
most checks are the kernel's silent ones (every mmap asks CAP_SYS_ADMIN for
memory accounting). cap_capable()'s audit option is not in the tracepoint,
so the BPF program asks which function called it: user space passes the
address ranges of the kernel's non-audit paths (NOAUDIT_CALLERS) from
/proc/kallsyms. Without readable addresses every check counts as audited.
``--unique`` (BCC's name) shows each (process, capability, verdict) once.
The ranges are kept per boot in pybpf's cache directory (sealed, as every
entry there), so only the first start of a boot reads kallsyms.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Set, Tuple

from pybpf import cachedir

from .common.declared import Declared
from .common.formats import CAPABILITIES, capability_name
from .common.gadget import Field, Gadget, Hook, HookSet, Param
from .common.session import EventSession, run_function
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


#: the kernel functions that check a capability without auditing it, within
#: two frames of cap_capable() (security/commoncap.c, kernel/capability.c)
NOAUDIT_CALLERS = ("security_vm_enough_memory_mm", "cap_vm_enough_memory",
                   "ns_capable_noaudit", "has_ns_capability_noaudit", "has_capability_noaudit")
NOAUDIT_RANGES = 6  # the size of noaudit_start/noaudit_end in the object
NEXT_GUESS = 0x1000  # a function's length when kallsyms lists nothing after it


def function_ranges(names: Tuple[str, ...], path: str = "/proc/kallsyms"
                    ) -> List[Tuple[int, int]]:
    """[start, end) of each named kernel text symbol that kallsyms lists with an
    address (the next symbol's address is the end)."""
    wanted = set(names)
    ranges: List[Tuple[int, int]] = []
    start = 0
    try:
        with open(path) as fh:
            for line in fh:
                parts = line.split(None, 3)
                if len(parts) < 3:
                    continue
                addr = int(parts[0], 16)
                if start:
                    ranges.append((start, addr if addr > start else start + NEXT_GUESS))
                    start = 0
                if parts[2] in wanted and parts[1] in "tT" and addr:
                    wanted.discard(parts[2])
                    start = addr
                    if len(parts) == 4:  # a module's symbol: not one of ours
                        start = 0
                if not wanted and not start:
                    break
    except OSError:
        return []
    if start:
        ranges.append((start, start + NEXT_GUESS))
    return ranges


RANGES_MAGIC = b"PYBPFNA1"
RANGES_LIMIT = 4096  # bytes: a few ranges as JSON


def _decode_ranges(body: memoryview, names: Tuple[str, ...], path: str, boot: str
                   ) -> Optional[List[Tuple[int, int]]]:
    """The ranges of a cache entry, or None unless it is for these names, path and boot."""
    try:
        doc = json.loads(bytes(body))
        if doc["boot"] != boot or doc["path"] != path or doc["names"] != list(names):
            return None
        ranges = [(int(a), int(b)) for a, b in doc["ranges"]]
    except (ValueError, TypeError, KeyError):
        return None
    ok = 0 < len(ranges) <= len(names) and all(0 < a < b for a, b in ranges)
    return ranges if ok else None


def cached_function_ranges(names: Tuple[str, ...], path: str = "/proc/kallsyms"
                           ) -> List[Tuple[int, int]]:
    """function_ranges, kept for this boot in the cache directory: kernel text does
    not move until the next boot. Nothing is kept when kallsyms shows no addresses
    (kptr_restrict may change) or the boot is unknown."""
    boot = cachedir.boot_id()
    if not boot:
        return function_ranges(names, path)
    name = f"noaudit-ranges-{boot}.json"  # the body names the path and functions it is for
    body = cachedir.load_sealed(name, RANGES_MAGIC, RANGES_LIMIT)
    ranges = _decode_ranges(body, names, path, boot) if body is not None else None
    if ranges is not None:
        return ranges
    ranges = function_ranges(names, path)
    if ranges:
        doc = {"boot": boot, "path": path, "names": list(names), "ranges": ranges}
        cachedir.store_sealed(name, RANGES_MAGIC, json.dumps(doc).encode())
    return ranges


def _u64s(values: List[int]) -> bytes:
    return b"".join(v.to_bytes(8, "little") for v in values)


def prepare(session: Any, spec: Any) -> None:
    """The non-audit callers' address ranges, for the tracepoint's program."""
    ranges = cached_function_ranges(NOAUDIT_CALLERS)[:NOAUDIT_RANGES]
    pad = [(0, 0)] * (NOAUDIT_RANGES - len(ranges))
    spec.constants["noaudit_start"] = _u64s([r[0] for r in ranges + pad])
    spec.constants["noaudit_end"] = _u64s([r[1] for r in ranges + pad])


#: the gadget's fields over struct event's members (gadgets.common.declared)
FIELDS = Declared({
    "cap": "capability_name(cap)",
    "cap_raw": "cap",
    "audit": "bool(audit)",
    "verdict": "'allow' if ret == 0 else 'deny'",
    "ret": "ret",
    "syscall": "syscall_name(syscall)",
    "syscall_raw": "syscall",
    "target_userns": "target_userns",
}, {"capability_name": capability_name, "syscall_name": syscall_name})


class CapabilitySession(EventSession):
    """EventSession that, with ``unique``, drops a check already shown for the same
    process, capability and verdict (in user space: the kernel sends every check)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen: Set[Tuple[int, int, str]] = set()

    @property
    def keeps_every_event(self) -> bool:
        return super().keeps_every_event and not self.params["unique"]

    def keep(self, event: Dict[str, Any]) -> bool:
        if not super().keep(event):
            return False
        if not self.params["unique"]:
            return True
        key = (event["proc"]["pid"], event["cap_raw"], event["verdict"])
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


GADGET = Gadget(
    name="trace_capabilities",
    category="trace",
    description="capability checks: capability, verdict, system call",
    object="trace_capabilities",
    hooks=[],
    needs=("btf", "ringbuf", "task_pt_regs"),
    hook_sets=(
        HookSet((Hook("tracepoint", "capability/cap_capable"),), ("trace_cap_capable",)),
        HookSet((Hook("kprobe", "cap_capable"),),
                ("kprobe_cap_capable", "kretprobe_cap_capable")),
    ),
    params=[
        Param("verbose", "include the checks the kernel does not audit (as BCC's capable -v)",
              default=False, constant="targ_verbose", aliases=("-v",)),
        Param("unique", "each (process, capability, verdict) once (as BCC's capable --unique)",
              default=False),
        Param("denied", "only denied checks", default=False, constant="targ_denied_only"),
        Param("cap", "only this capability (CAP_SYS_ADMIN, SYS_ADMIN or 21)", capability, None,
              constant="targ_cap"),
    ],
    fields=[
        Field("cap", "capability (CAP_SYS_ADMIN...)", 22, True, "CAP"),
        Field("cap_raw", "capability number", -3, type=int),
        Field("audit", "whether the kernel audits the check (non-audit ones with -v)", 5, True,
              "AUDIT", type=bool),
        Field("verdict", "allow or deny", 7, True, "VERDICT"),
        Field("ret", "0, or -EPERM when denied", -4, type=int),
        Field("syscall", "system call being served", 16, True, "SYSCALL"),
        Field("syscall_raw", "system call number (-1: none)", -4, type=int),
        Field("target_userns", "user namespace checked against (inode)", -11, type=int),
    ],
    present=FIELDS,
    prepare=prepare,
    session=CapabilitySession,
    default_fields=("runtime.containerName", "proc.uid", "proc.pid", "proc.comm", "cap",
                    "audit", "verdict", "syscall"),
)

run = run_function(GADGET)
