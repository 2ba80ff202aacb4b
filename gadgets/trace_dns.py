"""trace_dns: DNS queries and responses (UDP) with the process behind them.

A socket filter (bpf/gadgets/trace_dns.bpf.c) on an AF_PACKET socket in
each traced network namespace keeps only UDP packets to or from the DNS
port; this module parses them. A tracepoint records, per network namespace
and local UDP port, the process that last sent from it (map ``dns_ports``),
which names the process behind a query and its response. Latency pairs a
response with its query (namespace, client address and port, DNS id).
Without -c the traced namespace is this process's own; with -c, each
selected container's.
"""
from __future__ import annotations

import ctypes
import ipaddress
import os
import select
import socket
import struct
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .common import filters as flt
from .common.decode import NO_PROC, proc_fields
from .common.errors import GadgetError
from .common.formats import AF_INET, AF_INET6, endpoint
from .common.gadget import Field, Gadget, Hook, Param
from .common.options import integer
from .common.session import EMPTY_CONTAINER, REFRESH_INTERVAL, EventSession, run_function

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35  # asm-generic/socket.h (SO_TIMESTAMPNS_OLD)
CLONE_NEWNET = 0x40000000
# Lookups of a query's sender, 1 ms apart, before it is shown unattributed.
_OWNER_RETRIES = 5
QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
          33: "SRV", 64: "SVCB", 65: "HTTPS", 255: "ANY"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_HEADER = struct.Struct("!HHHHHH")


class DNSParseError(ValueError):
    pass


def _name(msg: bytes, off: int) -> Tuple[str, int]:
    """A (possibly compressed) domain name at ``off``; (name, offset after it)."""
    labels: List[str] = []
    end = -1
    for _ in range(128):  # bounds compression loops
        if off >= len(msg):
            raise DNSParseError("name runs past the message")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise DNSParseError("truncated compression pointer")
            if end < 0:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            continue
        off += 1
        if n == 0:
            return ".".join(labels) + ".", (end if end >= 0 else off)
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    raise DNSParseError("too many labels or a compression loop")


def parse_dns(msg: bytes) -> Dict[str, Any]:
    """A DNS message -> id, qr, rcode, first question and answer records."""
    if len(msg) < _HEADER.size:
        raise DNSParseError("shorter than a DNS header")
    ident, flags, qd, an, _, _ = _HEADER.unpack_from(msg)
    out: Dict[str, Any] = {"id": ident, "qr": "R" if flags & 0x8000 else "Q",
                           "rcode_raw": flags & 0xF, "name": "", "qtype_raw": 0, "answers": []}
    off = _HEADER.size
    for i in range(qd):
        name, off = _name(msg, off)
        qtype, _ = struct.unpack_from("!HH", msg, off)
        off += 4
        if i == 0:
            out["name"], out["qtype_raw"] = name, qtype
    for _ in range(an):
        rname, off = _name(msg, off)
        rtype, _, _, rdlen = struct.unpack_from("!HHIH", msg, off)
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if rtype == 1 and rdlen == 4:
            out["answers"].append(str(ipaddress.IPv4Address(rdata)))
        elif rtype == 28 and rdlen == 16:
            out["answers"].append(str(ipaddress.IPv6Address(rdata)))
        elif rtype in (5, 2, 12):
            out["answers"].append(_name(msg, off - rdlen)[0])
    return out


def parse_frame(frame: bytes) -> Optional[Tuple[int, str, int, str, int, bytes]]:
    """Ethernet+IP+UDP -> (family, src, sport, dst, dport, payload)."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0800 and len(frame) >= 34:
        ihl = (frame[14] & 0xF) * 4
        src = str(ipaddress.IPv4Address(frame[26:30]))
        dst = str(ipaddress.IPv4Address(frame[30:34]))
        l4, family = 14 + ihl, 4
    elif ethertype == 0x86DD and len(frame) >= 62:
        src = str(ipaddress.IPv6Address(frame[22:38]))
        dst = str(ipaddress.IPv6Address(frame[38:54]))
        l4, family = 54, 6
    else:
        return None
    if len(frame) < l4 + 8:
        return None
    sport, dport = struct.unpack_from("!HH", frame, l4)
    return family, src, sport, dst, dport, frame[l4 + 8:]


def _endpoint(family: int, addr: str, port: int) -> str:
    """An endpoint of parse_frame's IP version (4 or 6)."""
    return endpoint(AF_INET6 if family == 6 else AF_INET, addr, port)


_libc = ctypes.CDLL(None, use_errno=True)


def _packet_socket_in(netns_path: Optional[str]) -> socket.socket:
    """An AF_PACKET socket created inside the network namespace at
    ``netns_path`` (None: ours). setns() only moves the calling thread, so
    the socket is made in a short-lived thread; it stays in that namespace."""
    if netns_path is None:
        return socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    result: Dict[str, Any] = {}

    def work() -> None:
        try:
            with open(netns_path) as target, open("/proc/thread-self/ns/net") as home:
                if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {netns_path}")
                try:
                    result["sock"] = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                                   socket.htons(ETH_P_ALL))
                finally:
                    _libc.setns(home.fileno(), CLONE_NEWNET)
        except BaseException as exc:  # handed to the caller
            result["error"] = exc

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["sock"]


class PacketSource:
    """The filtered packet sockets, one per traced network namespace."""

    def __init__(self, program: Any, namespaces: Dict[int, Optional[str]]) -> None:
        from pybpf.links import attach_socket
        from pybpf.readers import Waker

        self.socks: Dict[int, socket.socket] = {}  # fileno -> socket
        self.netns_of: Dict[int, int] = {}        # fileno -> netns inode
        self.links: List[Any] = []
        self.poller = select.epoll()
        # wake() ends a wait in read() at once, as a ring reader's does (the session's stop)
        self._waker = Waker(self.poller)
        try:
            for inode, path in namespaces.items():
                s = _packet_socket_in(path)
                self.socks[s.fileno()] = s
                self.netns_of[s.fileno()] = inode
                self.links.append(attach_socket(program, s))
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                s.setblocking(False)
                self.poller.register(s.fileno(), select.EPOLLIN)
        except BaseException:
            self.close()
            raise

    def read(self, timeout: float) -> List[Tuple[int, int, bytes]]:
        """(netns, wall ns, frame) for every packet ready within ``timeout``."""
        out = []
        for fd, _ in self.poller.poll(timeout):
            if fd == self._waker.fd:
                self._waker.drain()
                continue
            s = self.socks[fd]
            while True:
                try:
                    data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(16))
                except BlockingIOError:
                    break
                stamp = time.time_ns()
                for level, kind, payload in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
                        sec, nsec = struct.unpack_from("qq", payload)
                        stamp = sec * 1_000_000_000 + nsec
                out.append((self.netns_of[fd], stamp, data))
        return out

    def wake(self) -> None:
        """End a wait in read() now (safe from a signal handler or another thread)."""
        self._waker.wake()

    def close(self) -> None:
        for link in self.links:
            link.close()
        self.links = []
        for s in self.socks.values():
            s.close()
        self.socks = {}
        self.poller.close()
        self._waker.close()


class DnsSession(EventSession):
    """An EventSession whose events come from packet sockets, not a ring buffer."""

    def _set_constants(self, spec: Any) -> None:
        super()._set_constants(spec)
        port = self.params.get("port")
        if port is not None:
            spec.constants["dns_port"] = int(port)

    def _open_source(self, spec: Any) -> None:
        from pybpf.btf.codec import Codec

        ms = spec.maps["dns_ports"]
        self._key_codec = Codec.for_type(spec.btf, ms.key_type_id)
        self._value_codec = Codec.for_type(spec.btf, ms.value_type_id)
        namespaces: Dict[int, Optional[str]] = {}
        self._netns_container: Dict[int, Dict[str, Any]] = {}
        if self.follow == "user":
            raise GadgetError("trace_dns follows only containers running when it starts, "
                              "named with -c (not --runtimes or --k8s-*)")
        if self.selected:
            for c in self.selected:
                for pid in c.pids:
                    path = f"/proc/{pid}/ns/net"
                    try:
                        inode = os.stat(path).st_ino
                    except OSError:
                        continue
                    namespaces.setdefault(inode, path)
                    self._netns_container.setdefault(inode, c.ig_fields())
            if not namespaces:
                raise GadgetError("the selected containers have no live process")
        else:
            namespaces[os.stat("/proc/self/ns/net").st_ino] = None
        self._attributed_only = bool(self.selected) or any(
            v is not None for v in self.ids.values()) or bool(self.comm)
        self._pending: Dict[Tuple[int, str, int, int], int] = {}
        self._reader = PacketSource(self._coll.programs["dns_filter"], namespaces)

    def _owner(self, netns: int, port: int) -> Optional[Dict[str, Any]]:
        key = self._key_codec.encode({"netns": netns, "port": port})
        value = self._coll.maps["dns_ports"].lookup(key)
        if value is None:
            return None
        raw = value if isinstance(value, dict) else self._value_codec.decode(bytes(value))
        return proc_fields(raw)

    def present_packet(self, netns: int, stamp: int, frame: bytes) -> Optional[Dict[str, Any]]:
        parsed = parse_frame(frame)
        if parsed is None:
            return None
        family, src, sport, dst, dport, payload = parsed
        try:
            dns = parse_dns(payload)
        except (DNSParseError, struct.error):
            return None
        query = dns["qr"] == "Q"
        client, cport, server, sport_srv = (src, sport, dst, dport) if query else \
            (dst, dport, src, sport)
        proc = self._owner(netns, cport)
        if proc is None and query:
            # The packet is captured inside sendmsg, before sock_send_length
            # records its sender: give the other CPU a moment to write it.
            for _ in range(_OWNER_RETRIES):
                time.sleep(0.001)
                proc = self._owner(netns, cport)
                if proc is not None:
                    break
        if proc is None and self._attributed_only:
            return None
        key = (netns, client, cport, dns["id"])
        latency = 0
        if query:
            self._pending[key] = stamp
            if len(self._pending) > 4096:  # unanswered queries: keep the newest
                for old in list(self._pending)[:1024]:
                    del self._pending[old]
        else:
            sent = self._pending.pop(key, None)
            latency = stamp - sent if sent is not None else 0
        container = (self.container_of(proc["mntns_id"], proc["pid"]) if proc is not None
                     else EMPTY_CONTAINER)
        if not container["runtime"]["containerName"]:
            container = self._netns_container.get(netns, container)
        boot_ns = stamp - self._clock.offset_ns  # the packet's stamp is wall time
        return {
            "timestamp": self._clock.iso(boot_ns),
            "timestamp_raw": boot_ns,
            **container,
            "proc": proc or dict(NO_PROC),
            "qr": dns["qr"],
            "id": dns["id"],
            "name": dns["name"],
            "qtype": QTYPES.get(dns["qtype_raw"], str(dns["qtype_raw"])),
            "qtype_raw": dns["qtype_raw"],
            "rcode": RCODES.get(dns["rcode_raw"], str(dns["rcode_raw"])) if not query else "",
            "rcode_raw": dns["rcode_raw"],
            "answers": dns["answers"],
            "num_answers": len(dns["answers"]),
            "nameserver": _endpoint(family, server, sport_srv),
            "client": _endpoint(family, client, cport),
            "netns": netns,
            "latency_ns": latency,
            "latency_us": latency // 1000,
        }

    def batches(self) -> Iterator[List[Dict[str, Any]]]:
        self.start()
        deadline = None if self.timeout is None else self._started + self.timeout
        next_refresh = time.monotonic() + REFRESH_INTERVAL
        while not self._stop.is_set():
            if time.monotonic() >= next_refresh:
                self.refresh_containers()  # new namespaces join the attribution filter
                next_refresh = time.monotonic() + REFRESH_INTERVAL
            wait = 0.2
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait = min(wait, left)
            out = []
            for netns, stamp, frame in self._reader.read(wait):
                event = self.present_packet(netns, stamp, frame)
                if event is not None and (not self.filters or flt.matches(self.filters, event)):
                    out.append(event)
            yield out

    def check_lost(self) -> None:
        """Packets are not counted as lost here: a full socket queue drops silently."""


GADGET = Gadget(
    name="trace_dns",
    category="trace",
    description="DNS queries/responses: process, name, type, rcode, answers, latency, server",
    object="trace_dns",
    hooks=[Hook("socket"), Hook("tracepoint", "sock/sock_send_length")],
    params=[Param("port", "DNS server port to watch", integer("port", 1, 65535), None)],
    fields=[
        Field("qr", "Q (query) or R (response)", 2, True, "QR"),
        Field("id", "DNS message id", -5, type=int),
        Field("qtype", "query type (A, AAAA, ...)", 5, True, "TYPE"),
        Field("qtype_raw", "query type number", -5, type=int),
        Field("rcode", "response code (NOERROR, NXDOMAIN...)", 8, True, "RCODE"),
        Field("rcode_raw", "response code number", -3, type=int),
        Field("nameserver", "server address:port", 22, True, "SERVER"),
        Field("client", "client address:port", 22),
        Field("latency_ns", "response time (nanoseconds)", -10, type=int),
        Field("latency_us", "response time (microseconds)", -8, True, "LAT(us)", type=int),
        Field("netns", "network namespace inode number", -11, type=int),
        Field("num_answers", "answer records", -3, type=int),
        Field("name", "query name", 30, True, "NAME"),
        Field("answers", "addresses and names answered", 0, True, "ANSWERS", type=list),
    ],
    session=DnsSession,
    needs=("btf",),
)

run = run_function(GADGET)
