"""trace_tcp: TCP connect, accept and close with both endpoints (IPv4 and
IPv6), the network namespace and the error."""
from __future__ import annotations

import ipaddress
from typing import Any, Dict

from .common.formats import endpoint, errno_name, family_name
from .common.gadget import Field, Gadget, Hook
from .common.runner import runner_for

# EV_* in bpf/gadgets/trace_tcp.bpf.c
TYPES = {1: "connect", 2: "accept", 3: "close", 4: "established"}


def address(raw: Any, family: int) -> str:
    """16 address bytes (IPv4 in the first 4) -> text."""
    data = bytes(raw)
    if family == 10:
        return str(ipaddress.IPv6Address(data[:16]))
    return str(ipaddress.IPv4Address(data[:4]))


def endpoints(ep: Dict[str, Any]) -> Dict[str, Any]:
    fam = ep["family"]
    return {
        "family": family_name(fam),
        "src": {"addr": address(ep["saddr"], fam), "port": ep["sport"]},
        "dst": {"addr": address(ep["daddr"], fam), "port": ep["dport"]},
        "netns": ep["netns"],
    }


def present(raw: Dict[str, Any]) -> Dict[str, Any]:
    ep = endpoints(raw["ep"])
    out = {"type": TYPES.get(raw["type"], str(raw["type"])), "type_raw": raw["type"]}
    out.update(ep)
    fam = raw["ep"]["family"]
    out["src_endpoint"] = endpoint(fam, ep["src"]["addr"], ep["src"]["port"])
    out["dst_endpoint"] = endpoint(fam, ep["dst"]["addr"], ep["dst"]["port"])
    out["error"] = errno_name(raw["error"])
    out["error_raw"] = -raw["error"]
    return out


GADGET = Gadget(
    name="trace_tcp",
    category="trace",
    description="TCP connect/accept/close: endpoints (v4/v6), netns, error",
    object="trace_tcp",
    hooks=[Hook("tracepoint", "sock/inet_sock_set_state"),
           Hook("tracepoint", "tcp/tcp_destroy_sock")]
    + [Hook("tracepoint", f"syscalls/sys_{d}_{s}")
       for s in ("connect", "accept", "accept4") for d in ("enter", "exit")],
    fields=[
        Field("type", "connect, accept, close, or established (a non-blocking connect ended)",
              11, True, "T"),
        Field("type_raw", "event type number", -2),
        Field("family", "AF_INET or AF_INET6", 8),
        Field("src.addr", "source (local) address", 39),
        Field("src.port", "source (local) port", -5),
        Field("dst.addr", "destination (remote) address", 39),
        Field("dst.port", "destination (remote) port", -5),
        Field("src_endpoint", "source address:port", 24, True, "SRC"),
        Field("dst_endpoint", "destination address:port", 24, True, "DST"),
        Field("netns", "network namespace inode number", -11),
        Field("error", "error name (ECONNREFUSED...)", 12, True, "ERROR"),
        Field("error_raw", "errno number", -4),
    ],
    present=present,
)

run = runner_for(GADGET)
