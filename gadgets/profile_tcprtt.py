"""profile_tcprtt: log2 histogram of TCP smoothed RTT, optionally per address.

Sampled at tcp:tcp_probe (tp_btf), which fires for every segment received on
an established connection; the value is the socket's srtt (srtt_us / 8).
``--by local`` or ``--by remote`` makes one histogram per address;
``--sport``/``--dport`` narrow it to a port. The tracepoint runs in softirq
context, so the process and container filters apply to the socket's owner:
a socket is sampled once a matching process has sent or received on it
(sock_send_length / sock_recv_length tag it in socket-local storage).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Sequence

from .common.errors import GadgetError
from .common.gadget import Field, Gadget, Hook, Param
from .common.histogram import row_text, to_json, write_rows
from .common.maprun import MapRun, ip_text, main as map_main, session_from

GROUPS = {"": 0, "none": 0, "local": 1, "remote": 2}

def _runner(gadget: Gadget, **options: Any) -> MapRun:
    """``pybpf run`` (Gadget.runner): the gadget's parameters as keywords of run()."""
    return run(**(options.pop("params", None) or {}), **options)


GADGET = Gadget(
    name="profile_tcprtt",
    category="profile",
    description="log2 histogram of TCP smoothed RTT, optionally per local or remote address",
    object="profile_tcprtt",
    hooks=[Hook("tp_btf", "tcp_probe"), Hook("tp_btf", "sock_send_length"),
           Hook("tp_btf", "sock_recv_length")],
    params=[
        Param("by", "one histogram per 'local' or 'remote' address", str, ""),
        Param("milliseconds", "histogram in milliseconds (default microseconds)", bool, False,
              constant="milliseconds"),
        Param("sport", "only this local port", int, 0, constant="targ_sport"),
        Param("dport", "only this remote port", int, 0, constant="targ_dport"),
    ],
    fields=[
        Field("address", "the local or remote address of this histogram", 40, True),
        Field("histogram", "log2 buckets {unit, total, buckets}", 0),
        Field("average", "mean srtt in the unit", -10, True),
        Field("count", "samples", -10, True),
    ],
    runner=_runner,
    event_struct="hist",
)


def _group(value: Any) -> int:
    text = str(value or "").lower()
    if text not in GROUPS:
        raise GadgetError(f"--by {value!r}: expected local or remote")
    return GROUPS[text]


def collect(session: MapRun) -> List[Dict[str, Any]]:
    """Every histogram so far: ``{"address", "histogram", "average", "count"}``."""
    unit = "msecs" if session.params.get("milliseconds") else "usecs"
    out = []
    for key, h in session.map_items("hists"):
        count = h["count"]
        out.append({
            "address": ip_text(key["family"], key["addr"]) if key["family"] else "",
            "histogram": to_json(h["slots"], unit),
            "average": round(h["total"] / count, 1) if count else 0,
            "count": count,
        })
    out.sort(key=lambda r: -r["count"])
    return out


def run(by: str = "", milliseconds: bool = False, sport: int = 0, dport: int = 0,
        **options: Any) -> MapRun:
    """Library form: a run to use with ``with``; ``collect(run)`` reads the histograms."""
    return MapRun(GADGET, params={"by": by, "milliseconds": milliseconds, "sport": sport,
                                  "dport": dport},
                  constants={"group_by": _group(by)}, collect=collect, **options)


def histogram_text(row: Dict[str, Any], label: str) -> str:
    return row_text(row, f"{label} = {row['address']}\n" if row["address"] else "", "samples")


def _options(parser: argparse.ArgumentParser) -> None:
    pass


def _body(opts: argparse.Namespace) -> int:
    session = session_from(GADGET, opts, collect=collect,
                           constants={"group_by": _group(opts.param_by)})
    with session:
        if opts.output == "columns":
            print("Tracing TCP RTT... Ctrl-C to end.", file=sys.stderr)
        rows = next(session.batches())
    label = "Local address" if _group(opts.param_by) == 1 else "Remote address"
    write_rows(rows, opts.output, lambda row: histogram_text(row, label),
               "no TCP RTT samples: the histogram is empty")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return map_main(GADGET, argv, _options, _body)


if __name__ == "__main__":
    sys.exit(main())
