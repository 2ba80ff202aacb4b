"""Can a gadget run here? Privileges, its object, its hooks and the kernel
features it needs, each answered once and cached for the process.

Only classic tracepoints need tracefs (their id); pybpf mounts it when root
and it is missing. raw_tp and tp_btf are looked up in the kernel's BTF
(``btf_trace_<name>``), iter and perf_event hooks need no check here."""
from __future__ import annotations

import functools
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Tuple

    from .gadget import Gadget, Hook, HookSet


CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39


def _cap_eff() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def privileged() -> Tuple[bool, str]:
    """BPF tracing needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)."""
    caps = _cap_eff()
    if caps & (1 << CAP_SYS_ADMIN):
        return True, ""
    if caps & (1 << CAP_BPF) and caps & (1 << CAP_PERFMON):
        return True, ""
    return False, "needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)"


@functools.lru_cache(maxsize=None)
def _btf_has_tracepoint(name: str) -> Optional[bool]:
    """Whether vmlinux BTF has ``btf_trace_<name>`` (every raw tracepoint has), or None
    without kernel BTF."""
    from pybpf.core import kernel_btf
    from pybpf.errors import BPFError
    try:
        return bool(kernel_btf().ids_by_name(f"btf_trace_{name}"))
    except BPFError:
        return None


def _tracefs_lists(category: str, name: str) -> Tuple[Optional[bool], str]:
    """(whether tracefs lists CATEGORY:NAME, or None and why when tracefs is not there)."""
    from pybpf.errors import MissingHookError
    from pybpf.links.tracefs import tracepoint_exists as listed
    try:
        return listed(category, name), ""
    except MissingHookError as exc:
        return None, str(exc)


@functools.lru_cache(maxsize=None)
def tracepoint_exists(target: str) -> bool:
    """True when the kernel has the tracepoint ``category/name`` (tracefs, else its BTF)."""
    category, _, name = target.rpartition("/")
    listed, _ = _tracefs_lists(category, name)
    return listed if listed is not None else bool(_btf_has_tracepoint(name))


@functools.lru_cache(maxsize=None)
def hook_available(hook: "Hook") -> Tuple[bool, str]:
    """Whether one hook exists on this kernel, with the reason if not."""
    if hook.kind == "tracepoint":
        category, _, name = hook.target.rpartition("/")
        listed, why = _tracefs_lists(category, name)
        if listed is None:
            return False, why
        return (True, "") if listed else (False, f"tracepoint {hook.target} does not exist "
                                                 f"on this kernel")
    if hook.kind in ("raw_tp", "tp_btf"):
        name = hook.target.split("/")[-1]
        found = _btf_has_tracepoint(name)
        if found is None and hook.kind == "tp_btf":
            return False, f"tp_btf/{name} needs kernel BTF (/sys/kernel/btf/vmlinux)"
        if found is False:
            return False, f"tracepoint {name} ({hook.kind}) does not exist on this kernel"
        return True, ""
    if hook.kind in ("kprobe", "kretprobe", "fentry", "fexit"):
        from pybpf import features
    if hook.kind in ("kprobe", "kretprobe"):
        return (True, "") if features.has_kprobes() else (False, "kprobes are not available (CONFIG_KPROBES off)")
    if hook.kind in ("fentry", "fexit"):
        if features.has_trampolines():
            return True, ""
        return False, "fentry/fexit trampolines are refused by this kernel"
    return True, ""


#: features answered by loading a probe into the kernel (pybpf.features)
PROBED = frozenset(("ringbuf", "bpf_loop", "task_pt_regs"))


BPF_FUNC_LOOP = 181  # uapi enum bpf_func_id
BPF_FUNC_TASK_PT_REGS = 175


@functools.lru_cache(maxsize=None)
def feature_available(name: str) -> Tuple[bool, str]:
    """A kernel feature a gadget's object relies on: "ringbuf" (5.8),
    "bpf_loop" (5.17, the dentry walk of gadget/path.h), "task_pt_regs" (5.15,
    the system call of a task's registers), "btf" (vmlinux BTF:
    CO-RE and tp_btf); or a privilege beyond tracing: "cap_sys_admin"."""
    if name == "cap_sys_admin":
        ok = bool(_cap_eff() & (1 << CAP_SYS_ADMIN))
        return ok, "" if ok else ("needs CAP_SYS_ADMIN (to list every BPF program and "
                                  "switch on their run-time statistics)")
    if name == "btf":
        ok = os.path.exists("/sys/kernel/btf/vmlinux")
        return ok, "" if ok else "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
    if name not in PROBED:
        raise ValueError(f"unknown feature {name!r}")
    # the probes' module (and the uapi enums) only for a feature answered by loading one
    from pybpf import features
    from pybpf.uapi import ProgType

    if name == "ringbuf":
        support = features.has_ringbuf()
    elif name == "bpf_loop":
        support = features.has_helper(ProgType.TRACEPOINT, BPF_FUNC_LOOP)
    else:
        support = features.has_helper(ProgType.TRACEPOINT, BPF_FUNC_TASK_PT_REGS)
    return bool(support), "" if support else f"no {name}: {support.reason}"


def can_run(gadget: "Gadget", probe: bool = True) -> Tuple[bool, str]:
    """(True, "") when the gadget can run here, else (False, why). Without ``probe``,
    only what costs neither a BPF syscall nor a look for the object (privileges,
    hooks, kernel BTF): a session starts with that and asks the rest only once the
    kernel refused its load, where it names what is missing instead of the refusal."""
    ok, why = privileged()
    if not ok:
        return ok, why
    if probe:
        where = gadget.object_location()
        if not (os.path.exists(where) if isinstance(where, str) else where.exists()):
            name = os.path.basename(where) if isinstance(where, str) else where.name
            return False, f"object {name} is missing"
    for name in gadget.needs:
        if probe or name not in PROBED:
            ok, why = feature_available(name)
            if not ok:
                return ok, why
    for hook in gadget.hooks:
        ok, why = hook_available(hook)
        if not ok:
            return ok, why
    if gadget.hook_sets:
        chosen, why = choose_hook_set(gadget)
        if chosen is None:
            return False, why
    return True, ""


def choose_hook_set(gadget: "Gadget") -> Tuple[Optional["HookSet"], str]:
    """The first of the gadget's hook sets whose hooks all exist here, or
    (None, why each was refused)."""
    reasons = []
    for hook_set in gadget.hook_sets:
        missing = [why for ok, why in map(hook_available, hook_set.hooks) if not ok]
        if not missing:
            return hook_set, ""
        reasons.append(missing[0])
    return None, "no usable hook: " + "; ".join(reasons)
