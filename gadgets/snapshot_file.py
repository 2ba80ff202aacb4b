"""snapshot_file: the open files of every process now, from a task_file iterator.

One row per file descriptor: fd, file type (from the inode mode), inode and
path (bpf_d_path: "socket:[123]", "pipe:[45]" and "anon_inode:[eventfd]" for
files without one). Threads sharing a file table are visited once.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Sequence

from .common.gadget import Field, Gadget, Hook
from .common.maprun import (MapRun, file_type, main as map_main, session_from,
                                   table_lines)

def _runner(gadget: Gadget, **options: Any) -> MapRun:
    """``pybpf run`` (Gadget.runner): one batch, the snapshot."""
    return MapRun(gadget, collect=collect, **options)


GADGET = Gadget(
    name="snapshot_file",
    category="snapshot",
    description="open files of every process: fd, type, path",
    object="snapshot_file",
    hooks=[Hook("iter", "task_file")],
    fields=[
        Field("fd", "file descriptor", -5, True, "FD"),
        Field("type", "file type (regular, dir, socket, fifo, char, block, symlink)", 8, True,
              "TYPE"),
        Field("ino", "inode number", -10),
        Field("mode", "permission bits (octal)", 5),
        Field("path", "path (d_path; socket:[ino], pipe:[ino], anon_inode:[...])", 0, True,
              "PATH"),
    ],
    runner=_runner,
    event_struct="file_entry",
)


def collect(session: MapRun) -> List[Dict[str, Any]]:
    """One pass of the iterator: presented rows, filters applied, by pid then fd."""
    from .common.decode import cstr

    rows = []
    for rec in session.iterate("snapshot_file", "file_entry"):
        row = session.base_event(rec["proc"])
        row.update({"fd": rec["fd"], "type": file_type(rec["mode"]), "ino": rec["ino"],
                    "mode": f"{rec['mode'] & 0o7777:04o}", "path": cstr(rec["path"])})
        if session.keep(row):
            rows.append(row)
    rows.sort(key=lambda r: (r["proc"]["pid"], r["fd"]))
    return rows


def run(**options: Any) -> List[Dict[str, Any]]:
    """Library form: the snapshot now (options as GadgetRun)."""
    with MapRun(GADGET, **options) as session:
        return collect(session)


def _options(parser: argparse.ArgumentParser) -> None:
    pass


def _body(opts: argparse.Namespace) -> int:
    with session_from(GADGET, opts) as session:
        rows = collect(session)
    if opts.output == "json":
        sys.stdout.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))
    else:
        header, lines = table_lines(GADGET, opts.fields, rows)
        sys.stdout.write("\n".join([header, *lines]) + "\n")
    sys.stdout.flush()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return map_main(GADGET, argv, _options, _body)


if __name__ == "__main__":
    sys.exit(main())
