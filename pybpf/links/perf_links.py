"""Attachments made through a perf event other than tracepoints (pybpf.links.tracepoint):
kprobes (PMU or legacy kprobe_events), syscall kprobes, uprobes (PMU or legacy
uprobe_events) and perf_event sampling (one event per CPU); and their
multi-target BPF links, kprobe_multi and uprobe_multi."""
from __future__ import annotations

import fnmatch
import os

from pybpf import features
from pybpf import sys as bpfsys
from pybpf.errors import MissingHookError, SyscallError
from pybpf.links import tracefs
from pybpf.links.base import Link, LinkGroup
from pybpf.links.common import attach_perf_fd, link_error, prog_fd, prog_name
from pybpf.links.tracepoint import alone, open_tracepoint_event
from pybpf.links.uprobe_target import (
    function_offsets,
    resolve_binary,
    split_symbol,
    symbol_offset,
)
from pybpf.sys import perf as sysperf
from pybpf.uapi import (
    BPF_F_KPROBE_MULTI_RETURN,
    BPF_F_UPROBE_MULTI_RETURN,
    bpf_attach_type,
    bpf_link_type,
    name_of,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, List, Optional, Sequence, Tuple

    from pybpf.links.common import ProgLike

SYSCALL_PREFIX = {"x86_64": "__x64_sys_", "aarch64": "__arm64_sys_", "arm64": "__arm64_sys_",
                  "s390x": "__s390x_sys_", "riscv64": "__riscv_sys_"}


def _pmu(kind: str) -> Optional[Tuple[int, Optional[int]]]:
    """(PMU type, retprobe config bit) of the kprobe/uprobe PMU, or None."""
    ptype = sysperf.pmu_type(kind)
    if ptype is None:
        return None
    return ptype, sysperf.pmu_retprobe_bit(kind)


def _probe(prog: ProgLike, kind: str, target: str, retprobe: bool, name: bytes, offset: int,
           legacy_location: str, pid: int, cookie: Optional[int]) -> Link:
    """Open a kprobe/uprobe perf event (PMU first, tracefs *_events second) and attach."""
    link_kind = ("kretprobe" if kind == "kprobe" else "uretprobe") if retprobe else kind
    what = f"{link_kind} {target}"
    pmu = _pmu(kind)
    cpu = 0 if pid == -1 else -1
    if pmu is not None:
        ptype, retbit = pmu
        if retprobe and retbit is None:
            raise MissingHookError(f"program {prog_name(prog)!r}: cannot attach to {what}: the "
                                   f"{kind} PMU has no retprobe format bit")
        config = (1 << retbit) if retprobe and retbit is not None else 0
        spec = sysperf.PerfEventSpec(type=ptype, config=config, sample_period=1, wakeup=1,
                                     name=name, config2=offset)
        try:
            pfd = sysperf.perf_event_open(spec, pid=pid, cpu=cpu, what=what)
        except SyscallError as exc:
            raise link_error(exc, prog, what) from None
        return alone(attach_perf_fd(prog, pfd, link_kind, target, cookie))
    if not tracefs.has_events_file(kind):
        raise MissingHookError(
            f"program {prog_name(prog)!r}: cannot attach to {what}: this kernel has no {kind}s "
            f"(no {kind} PMU in /sys/bus/event_source/devices, no tracefs {kind}_events)")
    event = tracefs.unique_event_name(target)
    try:
        tp_id = tracefs.add_probe_event(kind, event, retprobe, legacy_location, what)
    except SyscallError as exc:
        raise link_error(exc, prog, what) from None

    def remove() -> None:
        tracefs.remove_probe_event(kind, event, what)

    try:
        pfd = open_tracepoint_event(tp_id, what, pid)
    except SyscallError as exc:
        remove()
        raise link_error(exc, prog, what) from None
    return attach_perf_fd(prog, pfd, link_kind, target, cookie, cleanup=remove)


def attach_kprobe(prog: ProgLike, func: str, offset: int = 0, retprobe: bool = False, *,
                  cookie: Optional[int] = None) -> Link:
    """Attach to kernel function ``func`` (+``offset``), or its return."""
    target = f"{func}+{offset:#x}" if offset else func
    return _probe(prog, "kprobe", target, retprobe, func.encode(), offset,
                  f"{func}+{offset}", -1, cookie)


def syscall_function(syscall: str) -> str:
    """The kernel function behind a syscall on this arch (``__x64_sys_NAME``)."""
    prefix = SYSCALL_PREFIX.get(os.uname().machine, "sys_")
    return prefix + syscall


def attach_ksyscall(prog: ProgLike, syscall: str, retprobe: bool = False, *,
                    cookie: Optional[int] = None) -> Link:
    """kprobe on the arch-specific wrapper of ``syscall`` (``openat`` -> ``__x64_sys_openat``)."""
    return attach_kprobe(prog, syscall_function(syscall), 0, retprobe, cookie=cookie)


def kernel_functions(pattern: str) -> List[str]:
    """Text symbols of /proc/kallsyms matching glob ``pattern`` (kernel-only, deduplicated)."""
    found: List[str] = []
    seen = set()
    with open("/proc/kallsyms") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 3 or parts[1] not in ("t", "T") or len(parts) > 3:
                continue  # not text, or a module symbol ("[mod]" column)
            name = parts[2]
            if name not in seen and fnmatch.fnmatchcase(name, pattern):
                seen.add(name)
                found.append(name)
    return found


def attach_kprobe_multi(prog: ProgLike, symbols: Optional[Sequence[str]] = None,
                        pattern: Optional[str] = None, retprobe: bool = False,
                        cookies: Optional[Sequence[int]] = None) -> Link:
    """One link on many kernel functions: ``symbols`` (names) or a glob ``pattern``."""
    if (symbols is None) == (pattern is None):
        raise ValueError("attach_kprobe_multi needs exactly one of symbols= or pattern=")
    kind = "kretprobe.multi" if retprobe else "kprobe.multi"
    target = pattern if pattern is not None else ",".join(symbols or ())
    names = list(symbols) if symbols is not None else kernel_functions(pattern or "")
    if not names:
        raise MissingHookError(f"program {prog_name(prog)!r}: {kind} {target}: no kernel "
                               f"function matches")
    opts = bpfsys.KprobeMultiOpts(syms=names, cookies=cookies,
                                  flags=BPF_F_KPROBE_MULTI_RETURN if retprobe else 0)
    try:
        lfd = bpfsys.link_create(prog_fd(prog), 0, bpf_attach_type.TRACE_KPROBE_MULTI,
                                 kprobe_multi=opts, detail=f"{kind} {target}")
    except SyscallError as exc:
        raise _multi_error(exc, prog, f"{kind} {target}", bpf_link_type.KPROBE_MULTI) from None
    return Link(kind, target, prog_name(prog), lfd)


def attach_uprobe(prog: ProgLike, binary: str, symbol: Optional[str] = None, offset: int = 0,
                  pid: int = -1, retprobe: bool = False, *,
                  cookie: Optional[int] = None) -> Link:
    """Attach to ``symbol`` (``"func"`` or ``"func+0x4"``) and/or file ``offset`` of
    ``binary`` (a path, a library such as ``libc.so.6``, or a program on $PATH),
    in process ``pid`` only, or every process (-1)."""
    path = resolve_binary(binary)
    where = offset
    label = f"{path}:{offset:#x}"
    if symbol:
        func, extra = split_symbol(symbol)
        where = symbol_offset(path, func) + extra + offset
        label = f"{path}:{symbol}" + (f"+{offset:#x}" if offset else "")
    if pid != -1:
        label += f" pid {pid}"
    return _probe(prog, "uprobe", label, retprobe, path.encode(), where,
                  f"{path}:{where:#x}", pid, cookie)


def attach_uprobe_multi(prog: ProgLike, binary: str, symbols: Optional[Sequence[str]] = None,
                        pattern: Optional[str] = None, offsets: Optional[Sequence[int]] = None,
                        pid: int = -1, retprobe: bool = False,
                        cookies: Optional[Sequence[int]] = None) -> Link:
    """One link on many functions of ``binary`` (BPF_TRACE_UPROBE_MULTI): by
    ``symbols`` (names), a glob ``pattern``, or raw file ``offsets``; in process
    ``pid`` only, or every process (-1)."""
    if sum(x is not None for x in (symbols, pattern, offsets)) != 1:
        raise ValueError("attach_uprobe_multi needs exactly one of symbols=, pattern=, offsets=")
    kind = "uretprobe.multi" if retprobe else "uprobe.multi"
    path = resolve_binary(binary)
    if offsets is not None:
        where = list(offsets)
        label = f"{path}:{len(where)} offsets"
    elif symbols is not None:
        where = [symbol_offset(path, name) for name in symbols]
        label = f"{path}:{','.join(symbols)}"
    else:
        found = function_offsets(path, pattern or "")
        if not found:
            raise MissingHookError(f"program {prog_name(prog)!r}: {kind} {path}:{pattern}: no "
                                   f"function matches")
        where = list(found.values())
        label = f"{path}:{pattern}"
    if pid != -1:
        label += f" pid {pid}"
    opts = bpfsys.UprobeMultiOpts(path=path, offsets=where, cookies=cookies,
                                  pid=pid if pid > 0 else 0,
                                  flags=BPF_F_UPROBE_MULTI_RETURN if retprobe else 0)
    try:
        lfd = bpfsys.link_create(prog_fd(prog), 0, bpf_attach_type.TRACE_UPROBE_MULTI,
                                 uprobe_multi=opts, detail=f"{kind} {label}")
    except SyscallError as exc:
        raise _multi_error(exc, prog, f"{kind} {label}", bpf_link_type.UPROBE_MULTI) from None
    return Link(kind, label, prog_name(prog), lfd)


def _multi_error(exc: SyscallError, prog: ProgLike, what: str, link_type: int) -> Exception:
    """Kernels without multi-probe links say EINVAL (unknown attach type): say so."""
    support = features.has_link_type(link_type)
    if not support:
        return MissingHookError(f"program {prog_name(prog)!r}: cannot attach to {what}: this "
                                f"kernel has no {name_of(bpf_link_type, link_type).lower()} links "
                                f"({support.reason})")
    return link_error(exc, prog, what)


def attach_perf_event(prog: ProgLike, freq: Optional[int] = None, period: Optional[int] = None,
                      cpus: Optional[Iterable[int]] = None, *,
                      event_type: int = sysperf.PERF_TYPE_SOFTWARE,
                      config: int = sysperf.PERF_COUNT_SW_CPU_CLOCK) -> LinkGroup:
    """Sample on every online CPU (or ``cpus``): ``freq`` Hz, or every ``period``
    events, of perf event ``event_type``/``config`` (default: software CPU clock)."""
    if (freq is None) == (period is None):
        raise ValueError("attach_perf_event needs exactly one of freq= or period=")
    group = LinkGroup()
    target = f"type {event_type} config {config} " + (f"{freq} Hz" if freq else f"period {period}")
    try:
        for cpu in (sysperf.online_cpus() if cpus is None else cpus):
            spec = sysperf.PerfEventSpec(type=event_type, config=config,
                                         sample_period=freq or period or 0,
                                         flags=sysperf.ATTR_FREQ if freq else 0)
            what = f"perf_event {target} cpu {cpu}"
            try:
                pfd = sysperf.perf_event_open(spec, pid=-1, cpu=cpu, what=what)
            except SyscallError as exc:
                raise link_error(exc, prog, what) from None
            group.add(alone(attach_perf_fd(prog, pfd, "perf_event", f"{target} cpu {cpu}")))
    except BaseException:
        group.close()
        raise
    return group
