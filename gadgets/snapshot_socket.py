"""snapshot_socket: every TCP and UDP socket now, with the processes holding it.

The tcp and udp iterators list the sockets of the caller's network namespace
(protocol, addresses, state, inode, netns); a task_file iterator finds which
processes hold each socket inode. With process or container filters, only
sockets held by a matching process are shown.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Sequence

from .common.formats import endpoint
from .common.gadget import Field, Gadget, Hook, Param
from .common.maprun import MapRun, ip_text, main as map_main, session_from, table_lines

TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING", 12: "NEW_SYN_RECV"}
UDP_STATES = {1: "ESTABLISHED", 7: "UNCONNECTED"}
PROTOCOLS = {6: "TCP", 17: "UDP"}

def _runner(gadget: Gadget, **options: Any) -> MapRun:
    """``pybpf run`` (Gadget.runner): one batch, the snapshot."""
    return MapRun(gadget, collect=collect, **options)


GADGET = Gadget(
    name="snapshot_socket",
    category="snapshot",
    description="every TCP/UDP socket: protocol, addresses, state, inode, netns, owning process",
    object="snapshot_socket",
    hooks=[Hook("iter", "tcp"), Hook("iter", "udp"), Hook("iter", "task_file")],
    params=[Param("protocol", "only 'tcp' or 'udp'", str, "")],
    fields=[
        Field("protocol", "TCP or UDP", 8, True, "PROTO"),
        Field("src", "local address:port", 24, True, "SRC"),
        Field("dst", "remote address:port", 24, True, "DST"),
        Field("state", "socket state (TCP states; UDP: ESTABLISHED or UNCONNECTED)", 12, True,
              "STATE"),
        Field("inode", "socket inode (0 for time-wait and request sockets)", -10, True, "INODE"),
        Field("netns_id", "network namespace inode number", -11),
        Field("owners", "every process holding the socket: [{pid, comm, fd}]", 0),
        Field("family", "4 or 6", -3),
        Field("saddr", "local address", 16), Field("sport", "local port", -5),
        Field("daddr", "remote address", 16), Field("dport", "remote port", -5),
    ],
    runner=_runner,
    event_struct="socket_owner",
)

_NO_PROC = {"comm": "", "pcomm": "", "pid": 0, "tid": 0, "ppid": 0, "uid": 0, "gid": 0,
            "mntns_id": 0, "cgroup_id": 0}


def _filtered(session: MapRun) -> bool:
    return bool(session.selected or session.comm or
                any(v is not None for v in session.ids.values()))


def collect(session: MapRun) -> List[Dict[str, Any]]:
    """One pass of the iterators: one row per socket, proc = its first owner."""
    want = str(session.params.get("protocol") or "").lower()
    if want not in ("", "tcp", "udp"):
        from .common.errors import GadgetError
        raise GadgetError(f"--protocol {want!r}: expected tcp or udp")
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
        if _filtered(session) and not held:
            continue  # the kernel kept only the owners that match the filters
        row = session.base_event(held[0]["proc"] if held else _NO_PROC)
        fam = s["family"]
        saddr, daddr = ip_text(fam, s["saddr"]), ip_text(fam, s["daddr"])
        states = TCP_STATES if s["proto"] == 6 else UDP_STATES
        row.update({
            "protocol": PROTOCOLS.get(s["proto"], str(s["proto"])),
            "src": endpoint(fam, saddr, s["sport"]), "dst": endpoint(fam, daddr, s["dport"]),
            "state": states.get(s["state"], str(s["state"])), "inode": s["ino"],
            "netns_id": s["netns_id"],
            "owners": [{"pid": o["proc"]["pid"], "comm": _comm(o), "fd": o["fd"]} for o in held],
            "family": 4 if fam == 2 else 6, "saddr": saddr, "sport": s["sport"],
            "daddr": daddr, "dport": s["dport"],
        })
        if session.keep(row):
            rows.append(row)
    rows.sort(key=lambda r: (r["protocol"], r["sport"], r["dport"]))
    return rows


def _comm(owner: Dict[str, Any]) -> str:
    from .common.decode import cstr
    return cstr(owner["proc"]["comm"])


def run(protocol: str = "", **options: Any) -> List[Dict[str, Any]]:
    """Library form: the snapshot now (options as GadgetRun, plus ``protocol``)."""
    with MapRun(GADGET, params={"protocol": protocol}, **options) as session:
        return collect(session)


def _options(parser: argparse.ArgumentParser) -> None:
    pass


DEFAULT_FIELDS = ["protocol", "src", "dst", "state", "inode", "proc.pid", "proc.comm",
                  "container.name"]


def _body(opts: argparse.Namespace) -> int:
    with session_from(GADGET, opts) as session:
        rows = collect(session)
    if opts.output == "json":
        sys.stdout.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))
    else:
        header, lines = table_lines(GADGET, opts.fields or DEFAULT_FIELDS, rows)
        sys.stdout.write("\n".join([header, *lines]) + "\n")
    sys.stdout.flush()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return map_main(GADGET, argv, _options, _body)


if __name__ == "__main__":
    sys.exit(main())
