"""top_tcp: bytes sent and received per (process, TCP connection), per interval.

Counted at the sock:sock_send_length and sock:sock_recv_length tracepoints
(typed, tp_btf), which fire in the sending or receiving process with the
byte count of each call (MSG_PEEK reads are not counted).
"""
from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Sequence

from .common.formats import endpoint
from .common.gadget import Field, Gadget, Hook, Param
from .common.maprun import MapRun, ip_text, top_main, top_params

FAMILIES = {"": 0, "4": 2, "6": 10, "ipv4": 2, "ipv6": 10}

DEFAULT_SORT = "-sent,-received"


def _runner(gadget: Gadget, **options: Any) -> MapRun:
    """The run behind ``pybpf run``, the command line and run()."""
    family = (options.get("params") or {}).get("family", "")
    return MapRun(gadget, collect=collect, constants={"targ_family": _family(family)},
                  **options)


GADGET = Gadget(
    name="top_tcp",
    category="top",
    description="bytes sent and received per (process, TCP connection) per interval",
    object="top_tcp",
    hooks=[Hook("tp_btf", "sock_send_length"), Hook("tp_btf", "sock_recv_length")],
    params=[Param("family", "only IPv4 (4) or IPv6 (6) connections", str, "")]
    + top_params(DEFAULT_SORT),
    fields=[
        Field("src", "local address:port", 22, True, "SRC"),
        Field("dst", "remote address:port", 22, True, "DST"),
        Field("sent", "bytes sent in the interval", -10, True, "SENT"),
        Field("received", "bytes received in the interval", -10, True, "RECV"),
        Field("family", "4 or 6", -3),
        Field("saddr", "local address", 16), Field("sport", "local port", -5),
        Field("daddr", "remote address", 16), Field("dport", "remote port", -5),
    ],
    runner=_runner,
    event_struct="conn_stat",
)

def _family(value: Any) -> int:
    from .common.errors import GadgetError
    text = str(value or "").lower()
    if text not in FAMILIES:
        raise GadgetError(f"--family {value!r}: expected 4 or 6")
    return FAMILIES[text]


def collect(session: MapRun) -> List[Dict[str, Any]]:
    """This interval's rows (the map is emptied as it is read)."""
    rows = []
    for key, value in session.map_items("stats", delete=True):
        fam = key["family"]
        saddr, daddr = ip_text(fam, key["saddr"]), ip_text(fam, key["daddr"])
        row = session.base_event(value["proc"])
        row.update({
            "src": endpoint(fam, saddr, key["sport"]), "dst": endpoint(fam, daddr, key["dport"]),
            "sent": value["sent"], "received": value["received"],
            "family": 4 if fam == 2 else 6, "saddr": saddr, "sport": key["sport"],
            "daddr": daddr, "dport": key["dport"],
        })
        rows.append(row)
    return rows


def run(interval: float = 1.0, family: str = "", **options: Any) -> MapRun:
    """Library form: a run to use with ``with``; iterating it yields each interval's rows."""
    return _runner(GADGET, params={"interval": interval, "family": family}, **options)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return top_main(GADGET, argv, factory=_runner)


if __name__ == "__main__":
    sys.exit(main())
