"""profile_cpu: sampled on-CPU stacks, kernel and user frames symbolised.

A BPF program runs on every tick of a software CPU-clock perf event on each
CPU (``--frequency`` Hz) and counts (process, user stack, kernel stack).
At the end (--timeout or Ctrl-C) the stacks are symbolised: kernel frames
from /proc/kallsyms, user frames from the ELF symbols of the binaries mapped
by each process (maps read while it runs). Output: stacks with counts
(columns), one json object per stack, or ``-o folded`` for flame graphs.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Sequence

from .common.gadget import Field, Gadget, Hook, Param
from .common.maprun import MapRun, main as map_main
from .common.symbolize import Symbolizer, folded

def _runner(gadget: Gadget, **options: Any) -> MapRun:
    """``pybpf run`` (Gadget.runner): the gadget's parameters as keywords of run()."""
    return run(**(options.pop("params", None) or {}), **options)


GADGET = Gadget(
    name="profile_cpu",
    category="profile",
    description="sampled on-CPU stacks with counts, kernel and user frames symbolised; "
                "folded output for flame graphs",
    object="profile_cpu",
    hooks=[Hook("perf_event", "software/cpu-clock")],
    params=[
        Param("frequency", "samples per second on each CPU", int, 49),
        Param("user_only", "user stacks only", bool, False),
        Param("kernel_only", "kernel stacks only", bool, False),
        Param("include_idle", "count the idle task too", bool, False, constant="include_idle"),
    ],
    fields=[
        Field("count", "samples of this stack", -7, True, "COUNT"),
        Field("user_stack", "user frames, leaf first", 0),
        Field("kernel_stack", "kernel frames, leaf first", 0),
    ],
    runner=_runner,
    event_struct="sample_key",
)

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

    def __init__(self, session: MapRun, symbolizer: Optional[Symbolizer] = None) -> None:
        self.session = session
        self.symbols = symbolizer or Symbolizer()

    def remember_processes(self) -> None:
        """Read the maps of every process sampled so far (call while they run)."""
        for key, _ in self.session.map_items("counts"):
            self.symbols.remember(key["proc"]["pid"])

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
        merged: Dict[tuple, Dict[str, Any]] = {}
        for key, count in self.session.map_items("counts"):
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


def profiler(session: MapRun) -> Profiler:
    """The run's Profiler (one per run: it holds the processes' symbols)."""
    found = session.state.get("profiler")
    if found is None:
        found = session.state["profiler"] = Profiler(session)
    return found


def collect(session: MapRun) -> List[Dict[str, Any]]:
    """Every stack sampled so far, symbolised, most samples first."""
    return profiler(session).stacks()


def _remember(session: MapRun) -> None:
    profiler(session).remember_processes()


def run(frequency: int = 49, user_only: bool = False, kernel_only: bool = False,
        include_idle: bool = False, **options: Any) -> MapRun:
    """Library form: a run to use with ``with``; ``collect(run)`` reads the stacks (call
    ``profiler(run).remember_processes()`` now and then so short-lived processes
    still get user symbols)."""
    if user_only and kernel_only:
        from .common.errors import GadgetError
        raise GadgetError("--user-only and --kernel-only exclude each other")
    return MapRun(GADGET, params={"frequency": frequency, "user_only": user_only,
                                  "kernel_only": kernel_only, "include_idle": include_idle},
                  attach={"profile_sample": {"freq": frequency}},
                  constants={"user_stacks": not kernel_only, "kernel_stacks": not user_only},
                  collect=collect, tick=_remember, **options)


def stack_text(row: Dict[str, Any]) -> List[str]:
    """A stack as BCC's profile prints it: kernel frames, "--", user frames, the process."""
    lines = [f"    {f}" for f in row["kernel_stack"]]
    if row["kernel_stack"] and row["user_stack"]:
        lines.append("    --")
    lines += [f"    {f}" for f in row["user_stack"]]
    p = row["proc"]
    where = f" [{row['container']['name']}]" if row["container"]["name"] else ""
    lines.append(f"    -                {p['comm']} ({p['pid']}){where}")
    lines.append(f"        {row['count']}")
    return lines


def _options(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:  # -o also takes "folded" here
        if action.dest == "output":
            action.choices = ("columns", "json", "folded")


def _body(opts: argparse.Namespace) -> int:
    session = run(opts.param_frequency, opts.param_user_only, opts.param_kernel_only,
                  opts.param_include_idle, container=opts.container, host=opts.host,
                  pid=opts.pid, tid=opts.tid, uid=opts.uid, gid=opts.gid, comm=opts.comm,
                  filters=opts.filter, timeout=opts.timeout)
    with session:
        if opts.output == "columns":
            print(f"Sampling on-CPU stacks at {opts.param_frequency} Hz... Ctrl-C to end.",
                  file=sys.stderr)
        rows = next(session.batches())
    out = sys.stdout
    if opts.output == "folded":
        lines = folded((r["proc"]["comm"], r["user_stack"], r["kernel_stack"], r["count"])
                       for r in rows)
        out.write("".join(line + "\n" for line in lines))
    elif opts.output == "json":
        for r in rows:
            out.write(json.dumps(r, separators=(",", ":")) + "\n")
    else:
        for r in rows:
            out.write("\n".join(stack_text(r)) + "\n\n")
    out.flush()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return map_main(GADGET, argv, _options, _body)


if __name__ == "__main__":
    sys.exit(main())
