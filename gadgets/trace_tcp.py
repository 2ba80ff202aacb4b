"""trace_tcp: TCP connect, accept and close with both endpoints (IPv4 and
IPv6), the network namespace and the error."""
from __future__ import annotations

from .common.declared import Declared
from .common.formats import endpoint, errno_name, family_name, ip_text
from .common.gadget import Field, Gadget, Hook
from .common.session import run_function

# EV_* in bpf/gadgets/trace_tcp.bpf.c
TYPES = {1: "connect", 2: "accept", 3: "close", 4: "established"}


#: the gadget's fields over struct event's members (gadgets.common.declared); the
#: member ``type`` is read as itself, not as the builtin
FIELDS = Declared({
    "type": "TYPES.get(type, str(type))",
    "type_raw": "type",
    "family": "family_name(ep['family'])",
    "src.addr": "ip_text(ep['family'], ep['saddr'])",
    "src.port": "ep['sport']",
    "dst.addr": "ip_text(ep['family'], ep['daddr'])",
    "dst.port": "ep['dport']",
    "netns": "ep['netns']",
    "src_endpoint": "endpoint(ep['family'], ip_text(ep['family'], ep['saddr']), ep['sport'])",
    "dst_endpoint": "endpoint(ep['family'], ip_text(ep['family'], ep['daddr']), ep['dport'])",
    "error": "errno_name(error)",
    "error_raw": "-error",
}, {"TYPES": TYPES, "family_name": family_name, "ip_text": ip_text, "endpoint": endpoint,
    "errno_name": errno_name}, builtin_members=("type",))


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
        Field("type_raw", "event type number", -2, type=int),
        Field("family", "AF_INET or AF_INET6", 8),
        Field("src.addr", "source (local) address", 39),
        Field("src.port", "source (local) port", -5, type=int),
        Field("dst.addr", "destination (remote) address", 39),
        Field("dst.port", "destination (remote) port", -5, type=int),
        Field("src_endpoint", "source address:port", 24, True, "SRC"),
        Field("dst_endpoint", "destination address:port", 24, True, "DST"),
        Field("netns", "network namespace inode number", -11, type=int),
        Field("error", "error name (ECONNREFUSED...)", 12, True, "ERROR"),
        Field("error_raw", "errno number", -4, type=int),
    ],
    present=FIELDS,
)

run = run_function(GADGET)
