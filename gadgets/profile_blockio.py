"""profile_blockio: log2 histogram of block I/O latency, optionally per disk.

The time of each request from issue to the device (block:block_rq_issue) to
its completion (block:block_rq_complete), both tp_btf. The process filters
apply to the task that started the request (block:block_io_start, in the
submitter's context); kernels without that tracepoint filter on the task
issuing the request instead.
"""
from __future__ import annotations

from typing import IO, Any, Dict, List

from .common import probe
from .common.formats import disk_name
from .common.gadget import Field, Gadget, Hook, Param
from .common.histogram import empty_row, row_text, to_json, write_text
from .common.mapsession import MapSession
from .common.session import run_function


def filter_at_issue(spec: Any) -> None:
    """What kernels without block_io_start (before 6.5) run: filter on the issuing task."""
    spec.programs.pop("blk_start", None)
    spec.constants["filter_at_issue"] = True


def prepare(session: MapSession, spec: Any) -> None:
    if not probe.tracepoint_exists("block/block_io_start"):
        filter_at_issue(spec)


def collect(session: MapSession) -> List[Dict[str, Any]]:
    """Every histogram so far: ``{"disk", "histogram", "average", "count"}``."""
    unit = "msecs" if session.params.get("milliseconds") else "usecs"
    out = []
    for key, h in session.map_items("hists"):
        count = h["count"]
        disk = disk_name(key["major"], key["minor"]) if session.params.get("per_disk") else ""
        out.append({"disk": disk, "histogram": to_json(h["slots"], unit),
                    "average": round(h["total"] / count, 1) if count else 0, "count": count})
    out.sort(key=lambda r: -r["count"])
    return out or [empty_row('disk', unit)]


def histogram_text(row: Dict[str, Any]) -> str:
    return row_text(row, f"disk = {row['disk']}\n" if row["disk"] else "", "requests")


def write_histograms(session: MapSession, rows: List[Dict[str, Any]], out: IO[str]) -> None:
    """The columns output: one text histogram per disk (or for all)."""
    write_text(rows, out, histogram_text, "no block I/O samples: the histogram is empty")


GADGET = Gadget(
    name="profile_blockio",
    category="profile",
    description="log2 histogram of block I/O latency (issue to completion), per disk optional",
    object="profile_blockio",
    hooks=[Hook("tp_btf", "block_rq_issue"), Hook("tp_btf", "block_rq_complete")],
    params=[
        Param("per_disk", "one histogram per disk", default=False, constant="per_disk"),
        Param("milliseconds", "histogram in milliseconds (default microseconds)", default=False,
              constant="milliseconds"),
    ],
    fields=[
        Field("disk", "disk name (per-disk histograms)", 12, True),
        Field("histogram", "log2 buckets {unit, total, buckets}", 0, type=dict),
        Field("average", "mean latency in the unit", -10, True, type=float),
        Field("count", "requests", -10, True, type=int),
    ],
    event_struct="hist",
    prepare=prepare,
    collect=collect,
    outputs={"columns": write_histograms},
)

run = run_function(GADGET)
