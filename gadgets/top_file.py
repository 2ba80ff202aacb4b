"""top_file: reads and writes per (process, file), refreshed every --interval.

The BPF side resolves each read/write/readv/writev/pread64/pwrite64/
preadv(2)/pwritev(2) fd to its file through task->files at syscall entry and
adds the bytes returned at syscall exit. Each interval the stats map is read
and emptied, so the rows are that interval's counts.
"""
from __future__ import annotations

from typing import Any, Dict, List

from .common.decode import cstr, join_path
from .common.formats import file_type
from .common.gadget import Field, Gadget, Hook, Param
from .common.mapsession import MapSession, top_params
from .common.session import run_function

SYSCALLS = ("read", "readv", "pread64", "preadv", "preadv2",
            "write", "writev", "pwrite64", "pwritev", "pwritev2")
DEFAULT_SORT = "-read_bytes,-write_bytes"
PATH_TRUNCATED = 0x8000  # gadget/path.h GADGET_PATH_TRUNCATED


def collect(session: MapSession) -> List[Dict[str, Any]]:
    """This interval's rows (the map is emptied as it is read)."""
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


GADGET = Gadget(
    name="top_file",
    category="top",
    description="reads and writes per (process, file): counts and bytes per interval",
    object="top_file",
    needs=("btf", "bpf_loop"),  # gadget/path.h walks dentries in bpf_loop()
    hooks=[Hook("tracepoint", f"syscalls/sys_{edge}_{name}")
           for name in SYSCALLS for edge in ("enter", "exit")],
    params=[Param("all_files", "count every file type, not only regular files", default=False,
                  constant="all_files")] + top_params(DEFAULT_SORT),
    fields=[
        Field("reads", "read calls in the interval", -6, True, "READS", type=int),
        Field("writes", "write calls in the interval", -6, True, "WRITES", type=int),
        Field("read_bytes", "bytes read in the interval", -10, True, "R_BYTES", type=int),
        Field("write_bytes", "bytes written in the interval", -10, True, "W_BYTES", type=int),
        Field("type", "file type (regular, socket, fifo, char...)", 7, True, "TYPE"),
        Field("dev", "device of the file system (major:minor)", 7),
        Field("ino", "inode number", -10, type=int),
        Field("file", "file name (the last path component)", 24),
        Field("path", "full path (\"...\" first when the walk stopped short)", 0, True, "PATH"),
    ],
    event_struct="file_stat",
    collect=collect,
)

run = run_function(GADGET)
