"""snapshot_process: every process (or thread) now, from a BPF task iterator.

Columns or json (one object per process), or ``-o tree``: the process tree
by parent pid. Filters (container, pid, uid, comm...) apply in the kernel.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Sequence

from .common.gadget import Gadget, Hook, Param
from .common.maprun import MapRun, main as map_main, session_from, table_lines

def _runner(gadget: Gadget, **options: Any) -> MapRun:
    """``pybpf run`` (Gadget.runner): one batch, the snapshot."""
    return MapRun(gadget, collect=collect, **options)


GADGET = Gadget(
    name="snapshot_process",
    category="snapshot",
    description="every process (or thread with --threads): ids, credentials, mount "
                "namespace, container",
    object="snapshot_process",
    hooks=[Hook("iter", "task")],
    params=[Param("threads", "one row per thread, not per process", bool, False,
                  constant="show_threads")],
    fields=[],
    runner=_runner,
    event_struct="process_entry",
)

# proc.* and container.* are the common fields; show a few more by default
DEFAULT_FIELDS = ["container.name", "proc.comm", "proc.pid", "proc.tid", "proc.ppid",
                  "proc.uid", "proc.gid", "proc.mntns_id"]


def collect(session: MapRun) -> List[Dict[str, Any]]:
    """One pass of the iterator: presented events, filters applied, by pid."""
    rows = [session.base_event(r["proc"]) for r in
            session.iterate("snapshot_process", "process_entry")]
    rows = [r for r in rows if session.keep(r)]
    rows.sort(key=lambda r: (r["proc"]["pid"], r["proc"]["tid"]))
    return rows


def run(**options: Any) -> List[Dict[str, Any]]:
    """Library form: the snapshot now (options as GadgetRun, plus ``threads``)."""
    threads = options.pop("threads", False)
    with MapRun(GADGET, params={"threads": threads}, **options) as session:
        return collect(session)


def tree_lines(rows: Sequence[Dict[str, Any]]) -> List[str]:
    """The process tree: children under their parent, indented; orphans at the root."""
    by_pid = {r["proc"]["pid"]: r for r in rows if r["proc"]["pid"] == r["proc"]["tid"]}
    children: Dict[int, List[Dict[str, Any]]] = {}
    roots = []
    for r in rows:
        p = r["proc"]
        parent = p["ppid"] if p["pid"] == p["tid"] else p["pid"]
        if parent in by_pid and parent != p["tid"]:
            children.setdefault(parent, []).append(r)
        else:
            roots.append(r)
    lines: List[str] = []

    def walk(r: Dict[str, Any], prefix: str, last: bool, top: bool) -> None:
        p = r["proc"]
        label = f"{p['comm']}[{p['tid'] if p['pid'] != p['tid'] else p['pid']}]"
        if p["pid"] != p["tid"]:
            label = "{" + label + "}"
        c = r["container"]["name"]
        if c:
            label += f" ({c})"
        lines.append(label if top else prefix + ("└─ " if last else "├─ ") + label)
        kids = children.get(p["tid"], [])
        inner = "" if top else prefix + ("   " if last else "│  ")
        for i, k in enumerate(kids):
            walk(k, inner, i == len(kids) - 1, False)

    for r in roots:
        walk(r, "", True, True)
    return lines


def _options(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:  # -o also takes "tree" here
        if action.dest == "output":
            action.choices = ("columns", "json", "tree")


def _body(opts: argparse.Namespace) -> int:
    with session_from(GADGET, opts) as session:
        rows = collect(session)
    out = sys.stdout
    if opts.output == "json":
        for r in rows:
            out.write(json.dumps(r, separators=(",", ":")) + "\n")
    elif opts.output == "tree":
        out.write("\n".join(tree_lines(rows)) + "\n")
    else:
        header, lines = table_lines(GADGET, opts.fields or DEFAULT_FIELDS, rows)
        out.write("\n".join([header, *lines]) + "\n")
    out.flush()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return map_main(GADGET, argv, _options, _body)


if __name__ == "__main__":
    sys.exit(main())
