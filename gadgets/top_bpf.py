"""top_bpf: every loaded BPF program per interval: type, name, runs, run time,
CPU%, memory of its maps and the processes holding it.

Run counts and times come from the kernel's BPF statistics, switched on
(BPF_ENABLE_STATS) for as long as the gadget runs, and each program's info;
rows show the change over the interval. The owners come from a task_file
iterator that finds program and link fds in every process; with process or
container filters, only programs held by a matching process are shown.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

from .common.decode import NO_PROC, cstr
from .common.gadget import Field, Gadget, Hook
from .common.mapsession import MapSession, top_params
from .common.session import run_function

DEFAULT_SORT = "-run_time_us,-runs,id"


def _type_name(value: int) -> str:
    from pybpf.uapi import ProgType
    try:
        return ProgType(value).name.lower()
    except ValueError:
        return str(value)


def map_memory(map_id: int) -> int:
    """The memory a map accounts (fdinfo "memlock"), 0 when it is gone."""
    from pybpf import sys as bpfsys
    from pybpf.errors import BPFError
    try:
        fd = bpfsys.map_get_fd_by_id(map_id)
    except BPFError:
        return 0
    with fd:
        try:
            with open(f"/proc/self/fdinfo/{fd.fileno()}") as fh:
                for line in fh:
                    if line.startswith("memlock:"):
                        return int(line.split()[1])
        except OSError:
            pass
    return 0


def programs() -> List[Any]:
    """Info of every loaded program (those that vanish while we look are skipped)."""
    from pybpf import sys as bpfsys
    from pybpf.errors import BPFError
    out = []
    prog_id: Optional[int] = 0
    while True:
        prog_id = bpfsys.prog_get_next_id(prog_id or 0)
        if prog_id is None:
            return out
        try:
            with bpfsys.prog_get_fd_by_id(prog_id) as fd:
                out.append(bpfsys.prog_info(fd))
        except BPFError:
            continue


class Collector:
    """Turns successive program samples into per-interval rows; keeps stats on."""

    def __init__(self) -> None:
        self._stats: Any = None
        self._last: Dict[int, Tuple[int, int]] = {}
        self._last_time = 0.0

    def start(self) -> None:
        from pybpf import sys as bpfsys
        if self._stats is None:
            self._stats = bpfsys.enable_stats()
            self._last = {p.id: (p.run_cnt, p.run_time_ns) for p in programs()}
            self._last_time = time.monotonic()

    def close(self) -> None:
        if self._stats is not None:
            self._stats.close()
            self._stats = None

    def __call__(self, session: MapSession) -> List[Dict[str, Any]]:
        self.start()
        owners: Dict[int, List[Dict[str, Any]]] = {}
        for rec in session.iterate("prog_owners", "prog_owner"):
            owners.setdefault(rec["prog_id"], []).append(rec)
        now = time.monotonic()
        elapsed = max(now - self._last_time, 1e-9)
        self._last_time = now
        filtered = session.filtered_by_process
        memory: Dict[int, int] = {}
        rows = []
        current: Dict[int, Tuple[int, int]] = {}
        for p in programs():
            current[p.id] = (p.run_cnt, p.run_time_ns)
            cnt0, ns0 = self._last.get(p.id, (0, 0))
            runs, ns = max(p.run_cnt - cnt0, 0), max(p.run_time_ns - ns0, 0)
            held = owners.get(p.id, [])
            if filtered and not held:
                continue
            for mid in p.map_ids:
                if mid not in memory:
                    memory[mid] = map_memory(mid)
            row = session.base_event(held[0]["proc"] if held else NO_PROC)
            procs = sorted({(o["proc"]["pid"], _comm(o)) for o in held})
            row.update({
                "id": p.id, "type": _type_name(p.type), "name": p.name, "runs": runs,
                "run_time_us": ns // 1000, "avg_ns": ns // runs if runs else 0,
                "cpu_percent": round(ns / (elapsed * 1e9) * 100, 2),
                "map_memory": sum(memory[m] for m in p.map_ids),
                "processes": " ".join(f"{comm}({pid})" for pid, comm in procs),
                "tag": p.tag, "map_ids": list(p.map_ids),
            })
            rows.append(row)
        self._last = current
        return rows


def _comm(owner: Dict[str, Any]) -> str:
    return cstr(owner["proc"]["comm"])


def collect(session: "TopBPFSession") -> List[Dict[str, Any]]:
    """This interval's rows: the programs' runs and time since the last call."""
    return session.collector(session)


class TopBPFSession(MapSession):
    """A MapSession that keeps BPF statistics on from start to close."""

    def __init__(self, gadget: Gadget, **options: Any) -> None:
        self.collector = Collector()
        super().__init__(gadget, **options)

    def start(self) -> "TopBPFSession":
        super().start()
        self.collector.start()
        return self

    def close(self) -> None:
        self.collector.close()
        super().close()


GADGET = Gadget(
    name="top_bpf",
    category="top",
    description="BPF programs per interval: type, name, runs, run time, CPU%, map memory, "
                "owning processes",
    object="top_bpf",
    hooks=[Hook("iter", "task_file")],
    params=top_params(DEFAULT_SORT),
    fields=[
        Field("id", "program id", -6, True, "PROG_ID", type=int),
        Field("type", "program type", 14, True, "TYPE"),
        Field("name", "program name", 16, True, "NAME"),
        Field("runs", "runs in the interval", -9, True, "RUNS", type=int),
        Field("run_time_us", "time spent running in the interval, microseconds", -10, True,
              "RUNTIME_US", type=int),
        Field("avg_ns", "mean run time, nanoseconds", -8, True, "AVG_NS", type=int),
        Field("cpu_percent", "share of one CPU over the interval", -6, True, "CPU%", type=float),
        Field("map_memory", "bytes of memory of the program's maps", -10, True, "MAP_MEM",
              type=int),
        Field("processes", "processes holding the program (comm(pid), through fds or links)", 0,
              True, "PROCESSES"),
        Field("tag", "program tag", 16),
        Field("map_ids", "ids of the maps the program uses", 16, type=list),
    ],
    event_struct="prog_owner",
    needs=("btf", "cap_sys_admin"),
    session=TopBPFSession,
    collect=collect,
)

run = run_function(GADGET)
