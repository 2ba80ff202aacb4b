"""snapshot_socket: every TCP and UDP socket now, with the processes holding it.

The tcp and udp iterators list the sockets of the caller's network namespace
(protocol, addresses, state, inode, netns); a task_file iterator finds which
processes hold each socket inode. With process or container filters, only
sockets held by a matching process are shown.
"""
from __future__ import annotations

from typing import Any, Dict, List

from .common.decode import NO_PROC, cstr
from .common.formats import AF_INET, endpoint, ip_text
from .common.gadget import Field, Gadget, Hook, Param
from .common.mapsession import MapSession
from .common.options import choice
from .common.session import run_function

TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING", 12: "NEW_SYN_RECV"}
UDP_STATES = {1: "ESTABLISHED", 7: "UNCONNECTED"}
PROTOCOLS = {6: "TCP", 17: "UDP"}

def collect(session: MapSession) -> List[Dict[str, Any]]:
    """One pass of the iterators: one row per socket, proc = its first owner."""
    want = session.params.get("protocol") or ""
    owners: Dict[int, List[Dict[str, Any]]] = {}
    for rec in session.iterate("socket_owners", "socket_owner"):
        owners.setdefault(rec["ino"], []).append(rec)
    sockets = []
    for prog, proto in (("snapshot_tcp", "tcp"), ("snapshot_udp", "udp")):
        if want in ("", proto):
            sockets += session.iterate(prog, "socket_entry")
    rows = []
    for s in sockets:
        held = owners.get(s["ino"], []) if s["ino"] else []
        if session.filtered_by_process and not held:
            continue  # the kernel kept only the owners that match the filters
        row = session.base_event(held[0]["proc"] if held else NO_PROC)
        fam = s["family"]
        saddr, daddr = ip_text(fam, s["saddr"]), ip_text(fam, s["daddr"])
        states = TCP_STATES if s["proto"] == 6 else UDP_STATES
        row.update({
            "protocol": PROTOCOLS.get(s["proto"], str(s["proto"])),
            "src": endpoint(fam, saddr, s["sport"]), "dst": endpoint(fam, daddr, s["dport"]),
            "state": states.get(s["state"], str(s["state"])), "inode": s["ino"],
            "netns_id": s["netns_id"],
            "owners": [{"pid": o["proc"]["pid"], "comm": _comm(o), "fd": o["fd"]} for o in held],
            "family": 4 if fam == AF_INET else 6, "saddr": saddr, "sport": s["sport"],
            "daddr": daddr, "dport": s["dport"],
        })
        if session.keep(row):
            rows.append(row)
    rows.sort(key=lambda r: (r["protocol"], r["sport"], r["dport"]))
    return rows


def _comm(owner: Dict[str, Any]) -> str:
    return cstr(owner["proc"]["comm"])


DEFAULT_FIELDS = ("protocol", "src", "dst", "state", "inode", "proc.pid", "proc.comm",
                  "runtime.containerName")

GADGET = Gadget(
    name="snapshot_socket",
    category="snapshot",
    description="every TCP/UDP socket: protocol, addresses, state, inode, netns, owning process",
    object="snapshot_socket",
    hooks=[Hook("iter", "tcp"), Hook("iter", "udp"), Hook("iter", "task_file")],
    params=[Param("protocol", "only 'tcp' or 'udp'", choice("protocol", ("", "tcp", "udp")), "")],
    fields=[
        Field("protocol", "TCP or UDP", 8, True, "PROTO"),
        Field("src", "local address:port", 24, True, "SRC"),
        Field("dst", "remote address:port", 24, True, "DST"),
        Field("state", "socket state (TCP states; UDP: ESTABLISHED or UNCONNECTED)", 12, True,
              "STATE"),
        Field("inode", "socket inode (0 for time-wait and request sockets)", -10, True, "INODE",
              type=int),
        Field("netns_id", "network namespace inode number", -11, type=int),
        Field("owners", "every process holding the socket: [{pid, comm, fd}]", 0, type=list),
        Field("family", "4 or 6", -3, type=int),
        Field("saddr", "local address", 16), Field("sport", "local port", -5, type=int),
        Field("daddr", "remote address", 16), Field("dport", "remote port", -5, type=int),
    ],
    event_struct="socket_owner",
    collect=collect,
    default_fields=DEFAULT_FIELDS,
)

run = run_function(GADGET)
