"""profile_cpu: sampled on-CPU stacks, kernel and user frames symbolised.

A BPF program runs on every tick of a software CPU-clock perf event on each
CPU (``--frequency`` Hz) and counts (process, user stack, kernel stack).
At the end (--timeout or Ctrl-C) the stacks are symbolised: kernel frames
from /proc/kallsyms, user frames from the ELF symbols of the binaries mapped
by each process. A process's maps are read while it runs: the BPF program
names each process on its first user stack (ring buffer ``new_tgids``) and a
thread reads its maps and keeps its root open then, so the frames of a
process that has exited by the end resolve too. Output: stacks with counts
(columns), one json object per stack, or ``-o folded`` for flame graphs.
"""
from __future__ import annotations

import threading
from typing import IO, Any, Dict, List, Optional

from .common.errors import GadgetError
from .common.gadget import Field, Gadget, Hook, Param
from .common.mapsession import MapSession
from .common.options import integer
from .common.session import run_function
from .common.symbolize import Symbolizer, folded

MAX_FREQUENCY = 100_000  # samples per second per CPU; the kernel caps it lower still
_U64 = 8


def _frames(raw: Any) -> List[int]:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
        ips = [int.from_bytes(data[i: i + _U64], "little") for i in range(0, len(data), _U64)]
    else:
        ips = [int(x) for x in raw]
    out = []
    for ip in ips:
        if ip == 0:
            break
        out.append(ip)
    return out


class Profiler:
    """Reads a profile_cpu run: remembers the processes seen, symbolises at the end."""

    def __init__(self, session: MapSession, symbolizer: Optional[Symbolizer] = None) -> None:
        self.session = session
        self.symbols = symbolizer or Symbolizer()
        self._lock = threading.Lock()  # the symbols, shared with the following thread
        self._done = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._reader: Any = None

    def remember_processes(self) -> None:
        """Read the maps of every process sampled so far (call while they run)."""
        for key, _ in self.session.map_items("counts"):
            with self._lock:
                self.symbols.remember(key["proc"]["pid"])

    def follow(self) -> None:
        """Read each process's maps as the BPF program first names it (a thread)."""
        import pybpf

        self._reader = pybpf.RingBufReader(self.session.collection.maps["new_tgids"])
        self._thread = threading.Thread(target=self._remember_named, daemon=True,
                                        name="profile_cpu maps")
        self._thread.start()

    def _remember_named(self) -> None:
        while not self._done.is_set():
            for record in self._reader.read_batch(timeout=0.1):
                with self._lock:
                    self.symbols.remember(int.from_bytes(bytes(record[:4]), "little"))

    def close(self) -> None:
        """Stop following, let go of the processes' roots."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.symbols.close()

    def _stack(self, stack_id: int) -> List[int]:
        if stack_id < 0:
            return []
        stacks = self.session.collection.maps["stacks"]
        try:
            raw = stacks[stack_id.to_bytes(4, "little")]
        except KeyError:
            return []
        return _frames(raw)

    def stacks(self) -> List[Dict[str, Any]]:
        """Every sampled stack, symbolised, most samples first.

        Samples at different addresses of the same functions are one stack
        here (per thread): their counts are summed.
        """
        counted = self.session.map_items("counts")
        self.session.progress(f"Symbolising {len(counted)} stacks...")
        with self._lock:
            return self._symbolised(counted)

    def _symbolised(self, counted: List[Any]) -> List[Dict[str, Any]]:
        merged: Dict[tuple, Dict[str, Any]] = {}
        for key, count in counted:
            pid = key["proc"]["pid"]
            row = self.session.base_event(key["proc"])
            user = [self.symbols.user(pid, ip) for ip in self._stack(key["user_stack_id"])]
            kernel = [self.symbols.kernel(ip) for ip in self._stack(key["kernel_stack_id"])]
            row.update({"count": int(count), "user_stack": user, "kernel_stack": kernel})
            if not self.session.keep(row):
                continue
            p = row["proc"]
            ident = (p["pid"], p["tid"], p["comm"], tuple(user), tuple(kernel))
            if ident in merged:
                merged[ident]["count"] += row["count"]
            else:
                merged[ident] = row
        return sorted(merged.values(), key=lambda r: -r["count"])


def profiler(session: MapSession) -> Profiler:
    """The run's Profiler (one per run: it holds the processes' symbols)."""
    found = session.state.get("profiler")
    if found is None:
        found = session.state["profiler"] = Profiler(session)
    return found


def collect(session: MapSession) -> List[Dict[str, Any]]:
    """Every stack sampled so far, symbolised, most samples first."""
    return profiler(session).stacks()


def remember_processes(session: MapSession) -> None:
    """Read the maps of every process sampled so far (``tick``: called while they run),
    so short-lived processes still get user symbols."""
    profiler(session).remember_processes()


class ProfileSession(MapSession):
    """A MapSession whose Profiler follows new processes from start to close."""

    def start(self) -> "ProfileSession":
        started = self._coll is None
        super().start()
        if started:
            profiler(self).follow()
        return self

    def close(self) -> None:
        found = self.state.pop("profiler", None)
        if found is not None:
            found.close()
        super().close()


def prepare(session: MapSession, spec: Any) -> None:
    """Which stacks to take, and the sampling frequency to attach with."""
    user_only, kernel_only = session.params["user_only"], session.params["kernel_only"]
    if user_only and kernel_only:
        raise GadgetError("--user-only and --kernel-only exclude each other")
    spec.constants["user_stacks"] = not kernel_only
    spec.constants["kernel_stacks"] = not user_only
    session.attach_options = {"profile_sample": {"freq": session.params["frequency"]}}


def stack_text(row: Dict[str, Any]) -> List[str]:
    """A stack as BCC's profile prints it: kernel frames, "--", user frames, the process."""
    lines = [f"    {f}" for f in row["kernel_stack"]]
    if row["kernel_stack"] and row["user_stack"]:
        lines.append("    --")
    lines += [f"    {f}" for f in row["user_stack"]]
    p = row["proc"]
    name = row["runtime"]["containerName"]
    where = f" [{name}]" if name else ""
    lines.append(f"    -                {p['comm']} ({p['pid']}){where}")
    lines.append(f"        {row['count']}")
    return lines


def write_stacks(session: MapSession, rows: List[Dict[str, Any]], out: IO[str]) -> None:
    """The columns output: each stack as BCC's profile prints it."""
    for r in rows:
        out.write("\n".join(stack_text(r)) + "\n\n")


def write_folded(session: MapSession, rows: List[Dict[str, Any]], out: IO[str]) -> None:
    """``-o folded``: one line per stack for flame graphs."""
    lines = folded((r["proc"]["comm"], r["user_stack"], r["kernel_stack"], r["count"])
                   for r in rows)
    out.write("".join(line + "\n" for line in lines))


GADGET = Gadget(
    name="profile_cpu",
    category="profile",
    description="sampled on-CPU stacks with counts, kernel and user frames symbolised; "
                "folded output for flame graphs",
    object="profile_cpu",
    hooks=[Hook("perf_event", "software/cpu-clock")],
    params=[
        Param("frequency", "samples per second on each CPU",
              integer("frequency", 1, MAX_FREQUENCY), 49),
        Param("user_only", "user stacks only", default=False),
        Param("kernel_only", "kernel stacks only", default=False),
        Param("include_idle", "count the idle task too", default=False, constant="include_idle"),
    ],
    fields=[
        Field("count", "samples of this stack", -7, True, "COUNT", type=int),
        Field("user_stack", "user frames, leaf first", 0, type=list),
        Field("kernel_stack", "kernel frames, leaf first", 0, type=list),
    ],
    event_struct="sample_key",
    session=ProfileSession,
    prepare=prepare,
    collect=collect,
    tick=remember_processes,
    outputs={"columns": write_stacks, "folded": write_folded},
)

run = run_function(GADGET)
