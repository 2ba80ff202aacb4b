"""snapshot_file: the open files of every process now, from a task_file iterator.

One row per file descriptor: fd, file type (from the inode mode), inode and
path (bpf_d_path: "socket:[123]", "pipe:[45]" and "anon_inode:[eventfd]" for
files without one). Threads sharing a file table are visited once.
"""
from __future__ import annotations

from typing import Any, Dict, List

from .common.decode import cstr
from .common.formats import file_type
from .common.gadget import Field, Gadget, Hook
from .common.mapsession import MapSession
from .common.session import run_function


def collect(session: MapSession) -> List[Dict[str, Any]]:
    """One pass of the iterator: presented rows, filters applied, by pid then fd."""
    rows = []
    for rec in session.iterate("snapshot_file", "file_entry"):
        row = session.base_event(rec["proc"])
        row.update({"fd": rec["fd"], "type": file_type(rec["mode"]), "ino": rec["ino"],
                    "mode": f"{rec['mode'] & 0o7777:04o}", "path": cstr(rec["path"])})
        if session.keep(row):
            rows.append(row)
    rows.sort(key=lambda r: (r["proc"]["pid"], r["fd"]))
    return rows


GADGET = Gadget(
    name="snapshot_file",
    category="snapshot",
    description="open files of every process: fd, type, path",
    object="snapshot_file",
    hooks=[Hook("iter", "task_file")],
    fields=[
        Field("fd", "file descriptor", -5, True, "FD", type=int),
        Field("type", "file type (regular, dir, socket, fifo, char, block, symlink)", 8, True,
              "TYPE"),
        Field("ino", "inode number", -10, type=int),
        Field("mode", "permission bits (octal)", 5),
        Field("path", "path (d_path; socket:[ino], pipe:[ino], anon_inode:[...])", 0, True,
              "PATH"),
    ],
    event_struct="file_entry",
    collect=collect,
)

run = run_function(GADGET)
