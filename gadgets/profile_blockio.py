"""profile_blockio: log2 histogram of block I/O latency, optionally per disk.

The time of each request from issue to the device (block:block_rq_issue) to
its completion (block:block_rq_complete), both tp_btf. The process filters
apply to the task that started the request (block:block_io_start, in the
submitter's context); kernels without that tracepoint filter on the task
issuing the request instead.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Sequence

from .common import probe
from .common.gadget import Field, Gadget, Hook, Param
from .common.histogram import row_text, to_json, write_rows
from .common.maprun import MapRun, disk_name, main as map_main, session_from

def _runner(gadget: Gadget, **options: Any) -> MapRun:
    """``pybpf run`` (Gadget.runner): the gadget's parameters as keywords of run()."""
    return run(**(options.pop("params", None) or {}), **options)


GADGET = Gadget(
    name="profile_blockio",
    category="profile",
    description="log2 histogram of block I/O latency (issue to completion), per disk optional",
    object="profile_blockio",
    hooks=[Hook("tp_btf", "block_rq_issue"), Hook("tp_btf", "block_rq_complete")],
    params=[
        Param("per_disk", "one histogram per disk", bool, False, constant="per_disk"),
        Param("milliseconds", "histogram in milliseconds (default microseconds)", bool, False,
              constant="milliseconds"),
    ],
    fields=[
        Field("disk", "disk name (per-disk histograms)", 12, True),
        Field("histogram", "log2 buckets {unit, total, buckets}", 0),
        Field("average", "mean latency in the unit", -10, True),
        Field("count", "requests", -10, True),
    ],
    runner=_runner,
    event_struct="hist",
)


def _hook_options() -> Dict[str, Any]:
    """Without block_io_start (before 6.5), drop its program and filter at issue."""
    if probe.tracepoint_exists("block/block_io_start"):
        return {}
    return {"drop": ["blk_start"], "constants": {"filter_at_issue": True}}


def collect(session: MapRun) -> List[Dict[str, Any]]:
    """Every histogram so far: ``{"disk", "histogram", "average", "count"}``."""
    unit = "msecs" if session.params.get("milliseconds") else "usecs"
    out = []
    for key, h in session.map_items("hists"):
        count = h["count"]
        disk = disk_name(key["major"], key["minor"]) if session.params.get("per_disk") else ""
        out.append({"disk": disk, "histogram": to_json(h["slots"], unit),
                    "average": round(h["total"] / count, 1) if count else 0, "count": count})
    out.sort(key=lambda r: -r["count"])
    return out


def run(per_disk: bool = False, milliseconds: bool = False, **options: Any) -> MapRun:
    """Library form: a run to use with ``with``; ``collect(run)`` reads the histograms."""
    return MapRun(GADGET, params={"per_disk": per_disk, "milliseconds": milliseconds},
                  collect=collect, **_hook_options(), **options)


def histogram_text(row: Dict[str, Any]) -> str:
    return row_text(row, f"disk = {row['disk']}\n" if row["disk"] else "", "requests")


def _options(parser: argparse.ArgumentParser) -> None:
    pass


def _body(opts: argparse.Namespace) -> int:
    with session_from(GADGET, opts, collect=collect, **_hook_options()) as session:
        if opts.output == "columns":
            print("Tracing block I/O latency... Ctrl-C to end.", file=sys.stderr)
        rows = next(session.batches())
    write_rows(rows, opts.output, histogram_text, "no block I/O samples: the histogram is empty")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return map_main(GADGET, argv, _options, _body)


if __name__ == "__main__":
    sys.exit(main())
