"""trace_bind: bind() on IPv4/IPv6 sockets: address, port, protocol,
options (SO_REUSEADDR, SO_REUSEPORT), bound device and error."""
from __future__ import annotations

import socket

from .common.declared import Declared
from .common.formats import errno_name, family_name, ip_text
from .common.gadget import Field, Gadget, Hook, Param
from .common.session import run_function

OPT_REUSEADDR, OPT_REUSEPORT = 1, 2  # OPT_* in bpf/gadgets/trace_bind.bpf.c
PROTOCOLS = {6: "TCP", 17: "UDP", 132: "SCTP", 136: "UDPLITE", 1: "ICMP", 58: "ICMPV6",
             262: "MPTCP", 255: "RAW"}


def device(index: int) -> str:
    if not index:
        return ""
    try:
        return socket.if_indextoname(index)
    except OSError:
        return str(index)


def option_names(opts: int) -> str:
    """The option bits as text: REUSEADDR|REUSEPORT."""
    return "|".join(n for bit, n in ((OPT_REUSEADDR, "REUSEADDR"), (OPT_REUSEPORT, "REUSEPORT"))
                    if opts & bit)


#: the gadget's fields over struct event's members (gadgets.common.declared)
FIELDS = Declared({
    "ret": "ret",
    "error": "errno_name(ret) if ret < 0 else ''",
    "family": "family_name(family)",
    "addr": "ip_text(family, addr)",
    "port": "port",
    "protocol": "PROTOCOLS.get(protocol, str(protocol)) if protocol else ''",
    "protocol_raw": "protocol",
    "options": "option_names(opts)",
    "options_raw": "opts",
    "device": "device(bound_dev_if)",
    "device_raw": "bound_dev_if",
}, {"errno_name": errno_name, "family_name": family_name, "ip_text": ip_text,
    "PROTOCOLS": PROTOCOLS, "option_names": option_names, "device": device})


GADGET = Gadget(
    name="trace_bind",
    category="trace",
    description="socket binds: address, port, protocol, options, bound device, error",
    object="trace_bind",
    hooks=[Hook("tracepoint", "syscalls/sys_enter_bind"),
           Hook("tracepoint", "syscalls/sys_exit_bind")],
    params=[Param("ignore_errors", "only successful binds", default=False,
                  constant="targ_ignore_errors")],
    fields=[
        Field("protocol", "TCP, UDP...", 8, True, "PROTO"),
        Field("protocol_raw", "IP protocol number", -4, type=int),
        Field("family", "AF_INET or AF_INET6", 8),
        Field("addr", "address bound", 39, True, "ADDR"),
        Field("port", "port bound (0: any)", -5, True, "PORT", type=int),
        Field("options", "REUSEADDR|REUSEPORT", 19, True, "OPTS"),
        Field("options_raw", "option bits", -3, type=int),
        Field("device", "interface bound with SO_BINDTODEVICE", 10, True, "IF"),
        Field("device_raw", "interface index", -4, type=int),
        Field("ret", "return value (0 or -errno)", -4, type=int),
        Field("error", "error name (EADDRINUSE...)", 12, True, "ERROR"),
    ],
    present=FIELDS,
)

run = run_function(GADGET)
