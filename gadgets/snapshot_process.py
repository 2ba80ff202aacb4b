"""snapshot_process: every process (or thread) now, from a BPF task iterator.

Columns or json (one object per process), or ``-o tree``: the process tree
by parent pid. Filters (container, pid, uid, comm...) apply in the kernel.
"""
from __future__ import annotations

from typing import IO, Any, Dict, List, Sequence

from .common.gadget import Gadget, Hook, Param
from .common.mapsession import MapSession
from .common.session import run_function

# proc.*, runtime.* and k8s.* are the common fields; show a few more by default
DEFAULT_FIELDS = ("runtime.containerName", "proc.comm", "proc.pid", "proc.tid", "proc.ppid",
                  "proc.uid", "proc.gid", "proc.mntns_id")


def collect(session: MapSession) -> List[Dict[str, Any]]:
    """One pass of the iterator: presented events, filters applied, by pid."""
    rows = [session.base_event(r["proc"]) for r in
            session.iterate("snapshot_process", "process_entry")]
    rows = [r for r in rows if session.keep(r)]
    rows.sort(key=lambda r: (r["proc"]["pid"], r["proc"]["tid"]))
    return rows


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
        c = r["runtime"]["containerName"]
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


def write_tree(session: MapSession, rows: List[Dict[str, Any]], out: IO[str]) -> None:
    """``-o tree``."""
    out.write("\n".join(tree_lines(rows)) + "\n")


GADGET = Gadget(
    name="snapshot_process",
    category="snapshot",
    description="every process (or thread with --threads): ids, credentials, mount "
                "namespace, container",
    object="snapshot_process",
    hooks=[Hook("iter", "task")],
    params=[Param("threads", "one row per thread, not per process", default=False,
                  constant="show_threads")],
    fields=[],
    event_struct="process_entry",
    collect=collect,
    default_fields=DEFAULT_FIELDS,
    outputs={"tree": write_tree},
)

run = run_function(GADGET)
