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

from typing import IO, Any, Dict, List

from .common.formats import ip_text
from .common.gadget import Field, Gadget, Hook, Param
from .common.histogram import empty_row, row_text, to_json, write_text
from .common.mapsession import MapSession
from .common.options import choice, integer
from .common.session import run_function

GROUPS = {"local": 1, "remote": 2, "none": 0, "": 0}


def prepare(session: MapSession, spec: Any) -> None:
    spec.constants["group_by"] = GROUPS[session.params["by"]]


def collect(session: MapSession) -> List[Dict[str, Any]]:
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
    return out or [empty_row('address', unit)]


def histogram_text(row: Dict[str, Any], label: str) -> str:
    return row_text(row, f"{label} = {row['address']}\n" if row["address"] else "", "samples")


def write_histograms(session: MapSession, rows: List[Dict[str, Any]], out: IO[str]) -> None:
    """The columns output: one text histogram per address (or for all)."""
    label = "Local address" if session.params["by"] == "local" else "Remote address"
    write_text(rows, out, lambda row: histogram_text(row, label),
               "no TCP RTT samples: the histogram is empty")


GADGET = Gadget(
    name="profile_tcprtt",
    category="profile",
    description="log2 histogram of TCP smoothed RTT, optionally per local or remote address",
    object="profile_tcprtt",
    hooks=[Hook("tp_btf", "tcp_probe"), Hook("tp_btf", "sock_send_length"),
           Hook("tp_btf", "sock_recv_length")],
    params=[
        Param("by", "one histogram per 'local' or 'remote' address",
              choice("by", tuple(GROUPS)), ""),
        Param("milliseconds", "histogram in milliseconds (default microseconds)", default=False,
              constant="milliseconds"),
        Param("sport", "only this local port", integer("sport", 0, 65535), 0,
              constant="targ_sport"),
        Param("dport", "only this remote port", integer("dport", 0, 65535), 0,
              constant="targ_dport"),
    ],
    fields=[
        Field("address", "the local or remote address of this histogram", 40, True),
        Field("histogram", "log2 buckets {unit, total, buckets}", 0, type=dict),
        Field("average", "mean srtt in the unit", -10, True, type=float),
        Field("count", "samples", -10, True, type=int),
    ],
    event_struct="hist",
    prepare=prepare,
    collect=collect,
    outputs={"columns": write_histograms},
)

run = run_function(GADGET)
