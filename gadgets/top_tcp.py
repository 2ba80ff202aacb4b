"""top_tcp: bytes sent and received per (process, TCP connection), per interval.

Counted at the sock:sock_send_length and sock:sock_recv_length tracepoints
(typed, tp_btf), which fire in the sending or receiving process with the
byte count of each call (MSG_PEEK reads are not counted).
"""
from __future__ import annotations

from typing import Any, Dict, List

from .common.errors import GadgetError
from .common.formats import AF_INET, AF_INET6, endpoint, ip_text
from .common.gadget import Field, Gadget, Hook, Param
from .common.mapsession import MapSession, top_params
from .common.session import run_function

FAMILIES = {"": 0, "4": AF_INET, "6": AF_INET6, "ipv4": AF_INET, "ipv6": AF_INET6}

DEFAULT_SORT = "-sent,-received"


def family(value: Any) -> int:
    """--family: 4 or 6 (ipv4, ipv6) -> the address family the kernel side keeps; "" -> both."""
    text = str(value or "").lower()
    if text in ("2", "10"):
        return int(text)
    if text not in FAMILIES:
        raise GadgetError(f"--family {value!r}: expected 4 or 6")
    return FAMILIES[text]


def collect(session: MapSession) -> List[Dict[str, Any]]:
    """This interval's rows (the map is emptied as it is read)."""
    rows = []
    for key, value in session.map_items("stats", delete=True):
        fam = key["family"]
        saddr, daddr = ip_text(fam, key["saddr"]), ip_text(fam, key["daddr"])
        row = session.base_event(value["proc"])
        row.update({
            "src": endpoint(fam, saddr, key["sport"]), "dst": endpoint(fam, daddr, key["dport"]),
            "sent": value["sent"], "received": value["received"],
            "family": 4 if fam == AF_INET else 6, "saddr": saddr, "sport": key["sport"],
            "daddr": daddr, "dport": key["dport"],
        })
        rows.append(row)
    return rows


GADGET = Gadget(
    name="top_tcp",
    category="top",
    description="bytes sent and received per (process, TCP connection) per interval",
    object="top_tcp",
    hooks=[Hook("tp_btf", "sock_send_length"), Hook("tp_btf", "sock_recv_length")],
    params=[Param("family", "only IPv4 (4) or IPv6 (6) connections", family, "",
                  constant="targ_family")]
    + top_params(DEFAULT_SORT),
    fields=[
        Field("src", "local address:port", 22, True, "SRC"),
        Field("dst", "remote address:port", 22, True, "DST"),
        Field("sent", "bytes sent in the interval", -10, True, "SENT", type=int),
        Field("received", "bytes received in the interval", -10, True, "RECV", type=int),
        Field("family", "4 or 6", -3, type=int),
        Field("saddr", "local address", 16), Field("sport", "local port", -5, type=int),
        Field("daddr", "remote address", 16), Field("dport", "remote port", -5, type=int),
    ],
    event_struct="conn_stat",
    collect=collect,
)

run = run_function(GADGET)
