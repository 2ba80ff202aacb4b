"""top_file: reads and writes per (process, file), refreshed every --interval.

The BPF side resolves each read/write/readv/writev/pread64/pwrite64/
preadv(2)/pwritev(2) fd to its file through task->files at syscall entry and
adds the bytes returned at syscall exit. Each interval the stats map is read
and emptied, so the rows are that interval's counts.
"""
from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Sequence

from .common.gadget import Field, Gadget, Hook, Param
from .common.maprun import MapRun, file_type, top_main, top_params

SYSCALLS = ("read", "readv", "pread64", "preadv", "preadv2",
            "write", "writev", "pwrite64", "pwritev", "pwritev2")
DEFAULT_SORT = "-read_bytes,-write_bytes"
PATH_TRUNCATED = 0x8000  # gadget/path.h GADGET_PATH_TRUNCATED


def _runner(gadget: Gadget, **options: Any) -> MapRun:
    """The run behind ``pybpf run``, the command line and run()."""
    return MapRun(gadget, collect=collect, **options)


GADGET = Gadget(
    name="top_file",
    category="top",
    description="reads and writes per (process, file): counts and bytes per interval",
    object="top_file",
    needs=("btf", "bpf_loop"),  # gadget/path.h walks dentries in bpf_loop()
    hooks=[Hook("tracepoint", f"syscalls/sys_{edge}_{name}")
           for name in SYSCALLS for edge in ("enter", "exit")],
    params=[Param("all_files", "count every file type, not only regular files", bool, False,
                  constant="all_files")] + top_params(DEFAULT_SORT),
    fields=[
        Field("reads", "read calls in the interval", -6, True, "READS"),
        Field("writes", "write calls in the interval", -6, True, "WRITES"),
        Field("read_bytes", "bytes read in the interval", -10, True, "R_BYTES"),
        Field("write_bytes", "bytes written in the interval", -10, True, "W_BYTES"),
        Field("type", "file type (regular, socket, fifo, char...)", 7, True, "TYPE"),
        Field("dev", "device of the file system (major:minor)", 7),
        Field("ino", "inode number", -10),
        Field("file", "file name (the last path component)", 24),
        Field("path", "full path (\"...\" first when the walk stopped short)", 0, True, "PATH"),
    ],
    runner=_runner,
    event_struct="file_stat",
)


def collect(session: MapRun) -> List[Dict[str, Any]]:
    """This interval's rows (the map is emptied as it is read)."""
    from .common.decode import cstr, join_path

    rows = []
    for key, value in session.map_items("stats", delete=True, raw_members=("path",)):
        size = value["path_size"]
        row = session.base_event(value["proc"])
        row.update({
            "reads": value["reads"], "writes": value["writes"],
            "read_bytes": value["read_bytes"], "write_bytes": value["write_bytes"],
            "type": file_type(value["mode"]), "dev": f"{key['dev'] >> 20}:{key['dev'] & 0xfffff}",
            "ino": key["ino"], "file": cstr(value["name"]),
            "path": join_path(value["path"], size & ~PATH_TRUNCATED, bool(size & PATH_TRUNCATED)),
        })
        rows.append(row)
    return rows


def run(interval: float = 1.0, all_files: bool = False, **options: Any) -> MapRun:
    """Library form: a run to use with ``with``; iterating it yields each interval's rows."""
    return _runner(GADGET, params={"interval": interval, "all_files": all_files}, **options)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return top_main(GADGET, argv, factory=_runner)


if __name__ == "__main__":
    sys.exit(main())
