"""USDT: attach a program built with libbpf's ``usdt.bpf.h`` to SystemTap SDT probes.

``attach_usdt(prog, binary, provider, name)`` finds every site of the probe in
the binary's `.note.stapsdt` (an executable, PIE or not, or a shared library),
writes each site's argument spec into the program's ``__bpf_usdt_specs`` map
under a spec id of its own, and puts a uprobe on the site whose BPF cookie is
that spec id: what ``bpf_usdt_arg()``/``BPF_USDT()`` read back. A probe with a
semaphore gets the uprobe PMU's ``ref_ctr_offset``, so the kernel raises the
semaphore in every process mapping the file while the probe is attached.
Closing the links frees the spec ids. ``pid`` limits the probe to one process
(default: all). Kernels without BPF cookies (before 5.15), which libbpf
serves through ``__bpf_usdt_ip_to_spec_id``, are not supported.
"""
from __future__ import annotations

import threading

from pybpf.elf.notes import ProbeSite, read_probes
from pybpf.elf.specs import USDT_SPECS_MAP as SPECS_MAP
from pybpf.elf.usdt_spec import encode_spec, parse_args
from pybpf.errors import BPFError, LinkError, MissingHookError, SyscallError
from pybpf.links.base import Link, LinkGroup
from pybpf.links.common import attach_perf_fd, link_error, prog_name
from pybpf.links.uprobe_target import resolve_binary
from pybpf.sys import commands as cmds
from pybpf.sys import perf as sysperf

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Optional, Set, Tuple

    from pybpf.links.common import ProgLike
    from pybpf.maps import Map

_REF_CTR_FORMAT = "/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset"

_ids_lock = threading.Lock()
_ids_in_use: Dict[int, Set[int]] = {}  # spec map id -> spec ids held by live links


def split_target(target: str) -> Tuple[str, str, str]:
    """``"/usr/bin/python3:python:function__entry"`` -> (binary, provider, name)."""
    parts = target.rsplit(":", 2)
    if len(parts) != 3 or not all(parts):
        raise LinkError(f"USDT target {target!r} is not BINARY:PROVIDER:NAME")
    return parts[0], parts[1], parts[2]


def _ref_ctr_shift() -> Optional[int]:
    """The config bit where the uprobe PMU takes ref_ctr_offset ("config:32-63"), or None."""
    try:
        with open(_REF_CTR_FORMAT) as fh:
            field, _, bits = fh.read().strip().partition(":")
        return int(bits.split("-")[0]) if field == "config" else None
    except (OSError, ValueError):
        return None


def _take_spec_id(spec_map: Map) -> Tuple[int, int]:
    """(map id, a free spec id) in ``spec_map``; raises when all of its slots are in use."""
    map_id = spec_map.id
    with _ids_lock:
        used = _ids_in_use.setdefault(map_id, set())
        for spec_id in range(spec_map.max_entries):
            if spec_id not in used:
                used.add(spec_id)
                return map_id, spec_id
    raise LinkError(f"map {SPECS_MAP!r} is full ({spec_map.max_entries} USDT sites attached); "
                    "raise BPF_USDT_MAX_SPEC_CNT")


def _release_spec_id(map_id: int, spec_id: int) -> None:
    with _ids_lock:
        _ids_in_use.get(map_id, set()).discard(spec_id)


def attach_usdt(prog: ProgLike, binary: str, provider: str, name: str, pid: int = -1, *,
                cookie: int = 0, spec_map: Optional[Map] = None) -> LinkGroup:
    """Attach ``prog`` to every site of USDT ``provider:name`` in ``binary``.

    ``cookie`` is what ``bpf_usdt_cookie()`` returns; ``spec_map`` defaults to the
    ``__bpf_usdt_specs`` map of the program's collection.
    """
    spec_map = spec_map if spec_map is not None else getattr(prog, "usdt_spec_map", None)
    if spec_map is None:
        raise LinkError(f"program {prog_name(prog)!r}: no {SPECS_MAP!r} map to attach USDT "
                        "probes with (the program must use libbpf's usdt.bpf.h)")
    path = resolve_binary(binary)
    try:
        machine, sites = read_probes(path)
        wanted = [s for s in sites if s.provider == provider and s.name == name]
        specs = [encode_spec(parse_args(machine, s.args), cookie) for s in wanted]
    except BPFError as exc:
        raise LinkError(f"program {prog_name(prog)!r}: USDT {provider}:{name}: {exc}") from None
    if not wanted:
        raise MissingHookError(f"program {prog_name(prog)!r}: no USDT probe {provider}:{name} "
                               f"in {path}")
    group = LinkGroup()
    try:
        for site, spec in zip(wanted, specs):
            group.add(_attach_site(prog, path, site, spec, spec_map, pid))
    except BaseException:
        group.close()
        raise
    return group


def _attach_site(prog: ProgLike, path: str, site: ProbeSite, spec: bytes, spec_map: Map,
                 pid: int) -> Link:
    label = f"{path}:{site.provider}:{site.name}@{site.offset:#x}"
    if pid != -1:
        label += f" pid {pid}"
    what = f"usdt {label}"
    ptype = sysperf.pmu_type("uprobe")
    if ptype is None:
        raise MissingHookError(f"program {prog_name(prog)!r}: cannot attach to {what}: no "
                               "uprobe PMU in /sys/bus/event_source/devices")
    config = 0
    if site.semaphore_offset:
        shift = _ref_ctr_shift()
        if shift is None:
            raise MissingHookError(f"program {prog_name(prog)!r}: cannot attach to {what}: it "
                                   "has a semaphore and this kernel's uprobe PMU has no "
                                   "ref_ctr_offset (Linux 4.20+)")
        config = site.semaphore_offset << shift
    map_id, spec_id = _take_spec_id(spec_map)
    try:
        cmds.map_update_elem(spec_map.fd, spec_id.to_bytes(4, "little"), spec,
                             detail=f"map {SPECS_MAP!r}")
        event = sysperf.PerfEventSpec(type=ptype, config=config, sample_period=1, wakeup=1,
                                      name=path.encode(), config2=site.offset)
        try:
            pfd = sysperf.perf_event_open(event, pid=pid, cpu=0 if pid == -1 else -1, what=what)
        except SyscallError as exc:
            raise link_error(exc, prog, what) from None
        link = attach_perf_fd(prog, pfd, "usdt", label, cookie=spec_id)
    except BaseException:
        _release_spec_id(map_id, spec_id)
        raise
    link.on_close(lambda: _release_spec_id(map_id, spec_id))
    return link
