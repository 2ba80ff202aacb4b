"""top_blockio: block I/O per (process, device), per interval: reads, writes,
bytes and time.

Requests belong to the process that started them (block:block_io_start, in
the submitter's context; on kernels without it, the task issuing the
request); sizes are the bytes completed (block_rq_complete), time runs from
start (or issue) to completion.
"""
from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Sequence

from .common import probe
from .common.gadget import Field, Gadget, Hook
from .common.maprun import MapRun, disk_name, top_main, top_params

DEFAULT_SORT = "-read_bytes,-write_bytes"


def _runner(gadget: Gadget, **options: Any) -> MapRun:
    """The run behind ``pybpf run``, the command line and run()."""
    return MapRun(gadget, drop=_drop(), collect=collect, **options)


GADGET = Gadget(
    name="top_blockio",
    category="top",
    description="block I/O per (process, device) per interval: reads, writes, bytes, time",
    object="top_blockio",
    hooks=[Hook("tp_btf", "block_rq_issue"), Hook("tp_btf", "block_rq_complete")],
    params=top_params(DEFAULT_SORT),
    fields=[
        Field("disk", "disk name", 8, True, "DISK"),
        Field("reads", "read requests completed in the interval", -6, True, "READS"),
        Field("writes", "write requests completed in the interval", -6, True, "WRITES"),
        Field("read_bytes", "bytes read", -10, True, "R_BYTES"),
        Field("write_bytes", "bytes written", -10, True, "W_BYTES"),
        Field("time_us", "summed request time (start to completion), microseconds", -10, True,
              "TIME_US"),
        Field("avg_us", "mean request time, microseconds", -8, True, "AVG_US"),
        Field("major", "device major number", -5), Field("minor", "device minor number", -5),
    ],
    runner=_runner,
    event_struct="io_stat",
)

def _drop() -> List[str]:
    """block_io_start (6.5+) attributes requests to their submitter; without it, issue does."""
    return [] if probe.tracepoint_exists("block/block_io_start") else ["io_start"]


def collect(session: MapRun) -> List[Dict[str, Any]]:
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


def run(interval: float = 1.0, **options: Any) -> MapRun:
    """Library form: a run to use with ``with``; iterating it yields each interval's rows."""
    return _runner(GADGET, params={"interval": interval}, **options)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return top_main(GADGET, argv, factory=_runner)


if __name__ == "__main__":
    sys.exit(main())
