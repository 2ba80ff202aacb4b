"""top_blockio: block I/O per (process, device), per interval: reads, writes,
bytes and time.

Requests belong to the process that started them (block:block_io_start, in
the submitter's context; on kernels without it, the task issuing the
request); sizes are the bytes completed (block_rq_complete), time runs from
start (or issue) to completion.
"""
from __future__ import annotations

from typing import Any, Dict, List

from .common import probe
from .common.formats import disk_name
from .common.gadget import Field, Gadget, Hook
from .common.mapsession import MapSession, top_params
from .common.session import run_function

DEFAULT_SORT = "-read_bytes,-write_bytes"


def attribute_at_issue(spec: Any) -> None:
    """What kernels without block_io_start (before 6.5) run: the issuer owns requests."""
    spec.programs.pop("io_start", None)


def prepare(session: MapSession, spec: Any) -> None:
    """block_io_start (6.5+) attributes requests to their submitter; without it, issue does."""
    if not probe.tracepoint_exists("block/block_io_start"):
        attribute_at_issue(spec)


def collect(session: MapSession) -> List[Dict[str, Any]]:
    """This interval's rows (the map is emptied as it is read)."""
    rows = []
    for key, v in session.map_items("stats", delete=True):
        row = session.base_event(v["proc"])
        ops = v["reads"] + v["writes"]
        row.update({
            "disk": disk_name(key["major"], key["minor"]), "reads": v["reads"],
            "writes": v["writes"], "read_bytes": v["read_bytes"],
            "write_bytes": v["write_bytes"], "time_us": v["time_ns"] // 1000,
            "avg_us": round(v["time_ns"] / ops / 1000, 1) if ops else 0,
            "major": key["major"], "minor": key["minor"],
        })
        rows.append(row)
    return rows


GADGET = Gadget(
    name="top_blockio",
    category="top",
    description="block I/O per (process, device) per interval: reads, writes, bytes, time",
    object="top_blockio",
    hooks=[Hook("tp_btf", "block_rq_issue"), Hook("tp_btf", "block_rq_complete")],
    params=top_params(DEFAULT_SORT),
    fields=[
        Field("disk", "disk name", 8, True, "DISK"),
        Field("reads", "read requests completed in the interval", -6, True, "READS", type=int),
        Field("writes", "write requests completed in the interval", -6, True, "WRITES", type=int),
        Field("read_bytes", "bytes read", -10, True, "R_BYTES", type=int),
        Field("write_bytes", "bytes written", -10, True, "W_BYTES", type=int),
        Field("time_us", "summed request time (start to completion), microseconds", -10, True,
              "TIME_US", type=int),
        Field("avg_us", "mean request time, microseconds", -8, True, "AVG_US", type=float),
        Field("major", "device major number", -5, type=int),
        Field("minor", "device minor number", -5, type=int),
    ],
    event_struct="io_stat",
    prepare=prepare,
    collect=collect,
)

run = run_function(GADGET)
