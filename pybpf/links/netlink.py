"""Minimal rtnetlink client for the tc fallback: add/remove a ``clsact``
qdisc and add/remove a direct-action ``bpf`` filter on it.

Message layout (linux/rtnetlink.h, linux/pkt_sched.h, linux/pkt_cls.h):
``nlmsghdr`` + ``tcmsg`` + attributes (``TCA_KIND``, nested
``TCA_OPTIONS`` with ``TCA_BPF_FD``, ``TCA_BPF_NAME``, ``TCA_BPF_FLAGS``),
each declared below as a construct layout in host byte order. Each request
asks for an ACK and raises the typed SyscallError on failure. Only the network
attachments (tc, and XDP by device name) import this module, so its construct
import is paid there alone.
"""
from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from typing import Iterator, Tuple, Union

from construct import Aligned, Bytes, Construct, Int8un, Int16un, Int32sn, Int32un, Padding, Rebuild, Struct, this

from pybpf.errors import MissingHookError, syscall_error

NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

RTM_NEWQDISC = 36
RTM_DELQDISC = 37
RTM_NEWTFILTER = 44
RTM_DELTFILTER = 45
RTM_GETTFILTER = 46

TCA_KIND = 1
TCA_OPTIONS = 2
TCA_BPF_FD = 6
TCA_BPF_NAME = 7
TCA_BPF_FLAGS = 8
TCA_BPF_FLAG_ACT_DIRECT = 1
NLA_F_NESTED = 1 << 15

TC_H_CLSACT = 0xFFFFFFF1
TC_H_MIN_INGRESS = 0xFFF2
TC_H_MIN_EGRESS = 0xFFF3
ETH_P_ALL = 0x0003

NLMSGHDR: Construct = Struct(
    "len" / Int32un,
    "type" / Int16un,
    "flags" / Int16un,
    "seq" / Int32un,
    "pid" / Int32un,
)
NLMSGHDR_LEN = NLMSGHDR.sizeof()

TCMSG: Construct = Struct(
    "family" / Int8un,
    Padding(3),
    "ifindex" / Int32sn,
    "handle" / Int32un,
    "parent" / Int32un,
    "info" / Int32un,
)

# struct nlattr and its payload, padded to 4 bytes; ``len`` counts the header, not the padding.
NLATTR: Construct = Aligned(4, Struct(
    "len" / Rebuild(Int16un, lambda ctx: 4 + len(ctx.payload)),
    "type" / Int16un,
    "payload" / Bytes(this.len - 4),
))

NLMSGERR_ERROR = Int32sn  # struct nlmsgerr begins with the request's negated errno (0: ACK)


def tc_h_make(major: int, minor: int) -> int:
    return (major & 0xFFFF0000) | (minor & 0x0000FFFF)


def clsact_parent(direction: str) -> int:
    """The filter parent handle for ``"ingress"`` or ``"egress"`` of clsact."""
    if direction == "ingress":
        return tc_h_make(TC_H_CLSACT, TC_H_MIN_INGRESS)
    if direction == "egress":
        return tc_h_make(TC_H_CLSACT, TC_H_MIN_EGRESS)
    raise ValueError(f"tc direction must be 'ingress' or 'egress', not {direction!r}")


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    return bytes(NLATTR.build(dict(type=kind, payload=payload)))


def u32_attr(kind: int, value: int) -> bytes:
    return attr(kind, Int32un.build(value))


def tcmsg(ifindex: int, handle: int, parent: int, info: int) -> bytes:
    return bytes(TCMSG.build(dict(family=socket.AF_UNSPEC, ifindex=ifindex, handle=handle,
                                  parent=parent, info=info)))


@dataclass
class TcFilter:
    """Identifies one filter for deletion."""

    ifindex: int
    parent: int
    priority: int
    handle: int

    @property
    def info(self) -> int:
        return (self.priority << 16) | socket.htons(ETH_P_ALL)


class RtNetlink:
    """One NETLINK_ROUTE socket; ``request`` sends a message and waits for its ACK."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                   NETLINK_ROUTE)
        self._sock.bind((0, 0))
        self._seq = 0

    def _send(self, msg_type: int, flags: int, body: bytes) -> int:
        """Send one request; returns its sequence number."""
        self._seq += 1
        header = NLMSGHDR.build(dict(len=NLMSGHDR_LEN + len(body), type=msg_type,
                                     flags=flags | NLM_F_REQUEST, seq=self._seq, pid=0))
        self._sock.send(header + body)
        return self._seq

    def _replies(self, seq: int) -> Iterator[Tuple[int, bytes, int]]:
        """(type, buffer, payload offset) of each message answering ``seq``, as received;
        ends only if the socket is closed under it."""
        while True:
            data = self._sock.recv(65536)
            if not data:
                return
            pos = 0
            while pos + NLMSGHDR_LEN <= len(data):
                hdr = NLMSGHDR.parse(data[pos:pos + NLMSGHDR_LEN])
                if hdr.len < NLMSGHDR_LEN:
                    break
                if hdr.seq == seq:
                    yield hdr.type, data, pos + NLMSGHDR_LEN
                pos += _align(hdr.len)

    def request(self, msg_type: int, flags: int, body: bytes, what: str) -> None:
        """Send a request and wait for its ACK."""
        for rtype, data, payload in self._replies(self._send(msg_type, flags | NLM_F_ACK, body)):
            if rtype == NLMSG_ERROR:
                err = NLMSGERR_ERROR.parse(data[payload:payload + 4])
                if err:
                    raise syscall_error(what, -err)
                return
        raise syscall_error(what, errno.ECONNRESET, "netlink socket closed before the answer")

    def count_filters(self, ifindex: int, parent: int) -> int:
        """How many filter messages a dump of ``parent`` on ``ifindex`` returns."""
        seq = self._send(RTM_GETTFILTER, NLM_F_DUMP, tcmsg(ifindex, 0, parent, 0))
        found = 0
        for rtype, data, payload in self._replies(seq):
            if rtype == NLMSG_DONE:
                return found
            if rtype == NLMSG_ERROR:
                raise syscall_error("RTM_GETTFILTER", -NLMSGERR_ERROR.parse(data[payload:payload + 4]))
            if rtype == RTM_NEWTFILTER:
                found += 1
        raise syscall_error("RTM_GETTFILTER", errno.ECONNRESET, "netlink socket closed before the answer")

    def add_clsact(self, ifindex: int) -> bool:
        """Create the clsact qdisc; False if the device already had one."""
        body = tcmsg(ifindex, tc_h_make(TC_H_CLSACT, 0), TC_H_CLSACT, 0)
        body += attr(TCA_KIND, b"clsact\0")
        try:
            self.request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, body, "RTM_NEWQDISC clsact")
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                return False
            raise
        return True

    def del_clsact(self, ifindex: int) -> None:
        body = tcmsg(ifindex, tc_h_make(TC_H_CLSACT, 0), TC_H_CLSACT, 0)
        body += attr(TCA_KIND, b"clsact\0")
        self.request(RTM_DELQDISC, 0, body, "RTM_DELQDISC clsact")

    def add_bpf_filter(self, flt: TcFilter, prog_fd: int, name: str) -> None:
        options = (u32_attr(TCA_BPF_FD, prog_fd)
                   + attr(TCA_BPF_NAME, name.encode() + b"\0")
                   + u32_attr(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT))
        body = tcmsg(flt.ifindex, flt.handle, flt.parent, flt.info)
        body += attr(TCA_KIND, b"bpf\0") + attr(TCA_OPTIONS | NLA_F_NESTED, options)
        self.request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, body, "RTM_NEWTFILTER bpf")

    def del_filter(self, flt: TcFilter) -> None:
        body = tcmsg(flt.ifindex, flt.handle, flt.parent, flt.info)
        body += attr(TCA_KIND, b"bpf\0")
        self.request(RTM_DELTFILTER, 0, body, "RTM_DELTFILTER bpf")

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "RtNetlink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ifindex_of(dev: Union[int, str]) -> int:
    """An interface index from an index or a name."""
    if isinstance(dev, int):
        return dev
    try:
        return socket.if_nametoindex(dev)
    except OSError:
        raise MissingHookError(f"network device {dev!r} does not exist") from None

