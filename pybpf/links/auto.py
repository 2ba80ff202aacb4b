"""attach(program, **opts): choose the attach function from the program's
SEC() name, as libbpf's skeleton auto-attach does; attach_all(programs).

The SEC table row (pybpf.elf.sections) names the attach method; the target
comes from the SEC name (``tracepoint/syscalls/sys_enter_openat``,
``uprobe//usr/bin/bash:readline``) or from ``opts``. Kinds that need
something only the caller knows (a cgroup, a device, a socket, a sampling
rate) attach through ``attach(prog, cgroup=...)``, ``attach(prog, dev=...)``,
``attach(prog, sock=...)``, ``attach(prog, freq=...)``; ``attach_all``
skips them, like libbpf. Each kind's attach function is taken from the
pybpf.links namespace, which imports its module on first use.
"""
from __future__ import annotations

from collections.abc import Mapping

from pybpf import links
from pybpf.elf.sections import SecDef, find_sec_def
from pybpf.errors import LinkError
from pybpf.links.base import Link, LinkGroup
from pybpf.links.common import prog_name
from pybpf.uapi import bpf_attach_type, bpf_prog_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, Optional, Tuple, Union

    from pybpf.links.common import ProgLike
    AttachResult = Union[Link, LinkGroup]


# attach methods that never auto-attach without options (libbpf: no auto-attach)
_NEEDS_OPTIONS = {"socket", "tcx", "xdp", "perf_event", "cgroup"}


def _sec_def(prog: ProgLike) -> Tuple[Optional[SecDef], str]:
    section = str(getattr(prog, "section", "") or "")
    row = find_sec_def(section) if section else None
    target = str(getattr(prog, "attach_to", "") or "")
    if row is not None and not target:
        target = row.target(section)
    return row, target


def can_auto_attach(prog: ProgLike) -> bool:
    """Whether ``attach(prog)`` works without options (what attach_all attaches)."""
    row, target = _sec_def(prog)
    if row is None or row.attach is None or row.attach in _NEEDS_OPTIONS:
        return False
    if row.prog_type == bpf_prog_type.EXT:
        return False  # freplace needs the program it replaces: no auto-attach
    if row.attach in ("tracing", "lsm", "iter"):
        return True
    if row.attach in ("uprobe", "uprobe_multi"):
        return ":" in target
    if row.attach == "usdt":
        return target.count(":") >= 2
    return bool(target)


def _split_uprobe_target(target: str) -> Tuple[str, str]:
    binary, sep, func = target.rpartition(":")
    if not sep or not binary:
        raise LinkError(f"uprobe target {target!r} is not BINARY:FUNCTION")
    return binary, func


def _need(opts: Dict[str, Any], key: str, prog: ProgLike) -> Any:  # Any: the caller's option value
    if key not in opts:
        raise LinkError(f"program {prog_name(prog)!r}: SEC({getattr(prog, 'section', '')!r}) "
                        f"needs {key}= to attach")
    return opts.pop(key)


def attach(prog: ProgLike, **opts: Any) -> AttachResult:
    """Attach ``prog`` by its SEC kind. ``opts`` fill in or override what the
    SEC name does not say (see the module docstring and each attach_*)."""
    row, target = _sec_def(prog)
    method = row.attach if row is not None else None
    if row is not None and method is None and row.kind == "tc":
        method = "tcx"  # SEC("tc"), SEC("classifier"): tcx or clsact on opts["dev"]
    if row is None or method is None or row.prog_type == bpf_prog_type.EXT:
        section = getattr(prog, "section", "")
        raise LinkError(f"program {prog_name(prog)!r}: SEC({section!r}) has no attach "
                        f"method; call an attach_* function")
    retprobe = opts.pop("retprobe", row.retprobe)
    if method == "tracepoint":
        name = opts.pop("tracepoint", target)
        category, sep, event = name.partition("/")
        if not sep:
            raise LinkError(f"program {prog_name(prog)!r}: tracepoint {name!r} is not "
                            f"CATEGORY/NAME")
        return links.attach_tracepoint(prog, category, event, **opts)
    if method == "raw_tp":
        return links.attach_raw_tracepoint(prog, opts.pop("name", target))
    if method in ("tracing", "lsm"):
        return links.attach_tracing(prog, **opts)
    if method == "iter":
        return links.attach_iter(prog, **opts)
    if method == "kprobe":
        from pybpf.links.uprobe_target import split_symbol
        func, offset = split_symbol(opts.pop("func", target))
        return links.attach_kprobe(prog, func, opts.pop("offset", offset), retprobe, **opts)
    if method == "ksyscall":
        return links.attach_ksyscall(prog, opts.pop("syscall", target), retprobe, **opts)
    if method == "kprobe_multi":
        if "symbols" in opts:
            return links.attach_kprobe_multi(prog, symbols=opts.pop("symbols"),
                                             retprobe=retprobe, **opts)
        return links.attach_kprobe_multi(prog, pattern=opts.pop("pattern", target),
                                         retprobe=retprobe, **opts)
    if method == "uprobe":
        if "binary" in opts:
            binary, symbol = opts.pop("binary"), opts.pop("symbol", None)
        else:
            binary, symbol = _split_uprobe_target(target)
        return links.attach_uprobe(prog, binary, symbol or None, retprobe=retprobe, **opts)
    if method == "uprobe_multi":
        if "binary" in opts:
            binary = opts.pop("binary")
        else:
            binary, pattern = _split_uprobe_target(target)
            opts.setdefault("pattern", pattern)
        return links.attach_uprobe_multi(prog, binary, retprobe=retprobe, **opts)
    if method == "usdt":
        from pybpf.links import usdt  # deferred: it imports construct (import cost)
        if target and "binary" not in opts:
            binary, provider, name = usdt.split_target(target)
        else:
            binary, provider, name = (_need(opts, k, prog) for k in ("binary", "provider", "name"))
        return links.attach_usdt(prog, binary, provider, name, **opts)
    if method == "perf_event":
        return links.attach_perf_event(prog, **opts)
    if method == "cgroup":
        return links.attach_cgroup(prog, _need(opts, "cgroup", prog), **opts)
    if method == "xdp":
        return links.attach_xdp(prog, _need(opts, "dev", prog), **opts)
    if method == "tcx":
        direction = "egress" if row.expected_attach_type == bpf_attach_type.TCX_EGRESS else "ingress"
        return links.attach_tc(prog, _need(opts, "dev", prog), opts.pop("direction", direction),
                               **opts)
    if method == "socket":
        return links.attach_socket(prog, _need(opts, "sock", prog))
    raise LinkError(f"program {prog_name(prog)!r}: attach method {method!r} "
                    f"(SEC {getattr(prog, 'section', '')!r}) is not supported by pybpf")


def attach_all(programs: Union[Iterable[ProgLike], Mapping[str, ProgLike]]) -> LinkGroup:
    """Attach every program that can auto-attach; skip the others (as libbpf's
    skeleton attach). On failure, closes the links made so far and raises."""
    progs = programs.values() if isinstance(programs, Mapping) else programs
    group = LinkGroup()
    try:
        for prog in progs:
            if can_auto_attach(prog):
                group.add(attach(prog))
    except BaseException:
        group.close()
        raise
    return group
