"""struct_ops: a TCP congestion control written as BPF programs, registered, used, removed.

struct_ops_link registers through a BPF link (BPF_F_LINK map, Linux 6.4+),
struct_ops_ca by updating the map (Linux 5.6+). Each run: the algorithm
appears in tcp_available_congestion_control, a loopback TCP connection set to
it calls the BPF callbacks, closing the link removes it. Also in vmtests
(marker ``vm``): kernels without the link form skip that half with the reason.
"""
from __future__ import annotations

import ctypes
import os
import socket
import struct
import threading

import pytest

import pybpf
from pybpf.errors import LoadError
from pybpf.sys import commands as cmds

pytestmark = pytest.mark.vm

OBJECTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bpf", "objects")
AVAILABLE = "/proc/sys/net/ipv4/tcp_available_congestion_control"
TCP_CONGESTION = getattr(socket, "TCP_CONGESTION", 13)


def available() -> list:
    with open(AVAILABLE) as fh:
        return fh.read().split()


def calls(coll) -> tuple:
    spec = pybpf.ObjectSpec.from_file(os.path.join(OBJECTS, coll.spec.name))
    var = spec.variables.info("calls")
    m = coll.maps[var.section]
    buf = ctypes.create_string_buffer(m.value_size)
    cmds.map_lookup_elem(m.fd, b"\0\0\0\0", buf)
    return struct.unpack("<3Q", buf.raw[var.offset:var.offset + 24])


def transfer(algorithm: str, size: int = 2 << 20) -> str:
    """Send ``size`` bytes over loopback TCP with ``algorithm``; the sender's algorithm.
    Setting an unknown algorithm raises OSError before anything listens."""
    client = socket.socket()
    try:
        client.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, algorithm.encode())
    except OSError:
        client.close()
        raise
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(30)
    received = []

    def sink():
        conn, _ = server.accept()
        with conn:
            total = 0
            while True:
                chunk = conn.recv(1 << 16)
                if not chunk:
                    break
                total += len(chunk)
            received.append(total)

    reader = threading.Thread(target=sink, daemon=True)
    reader.start()
    try:
        with client:
            client.connect(server.getsockname())
            used = client.getsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, 16)
            client.sendall(b"\0" * size)
    finally:
        reader.join(timeout=60)
        server.close()
    assert received == [size]
    return used.rstrip(b"\0").decode()


def load(name: str):
    try:
        return pybpf.load(os.path.join(OBJECTS, f"{name}.bpf.o"))
    except LoadError as exc:
        release = tuple(int(x) for x in os.uname().release.split(".")[:2])
        if name == "struct_ops_link" and release < (6, 4) and "struct_ops map" in str(exc):
            pytest.skip(f"BPF_F_LINK struct_ops maps need Linux 6.4 ({exc})")
        raise


@pytest.mark.parametrize("obj,algorithm", [("struct_ops_link", "pybpf_reno"),
                                           ("struct_ops_ca", "pybpf_reno_old")])
def test_congestion_control_registered_used_removed(obj, algorithm):
    with load(obj) as coll:
        assert algorithm not in available()
        with coll.attach_all() as links:
            assert [link.kind for link in links] == ["struct_ops"]
            assert algorithm in available()
            assert transfer(algorithm) == algorithm
            ssthresh, cong_avoid, undo_cwnd = calls(coll)
            assert cong_avoid > 0
        assert algorithm not in available()
        with pytest.raises(OSError):
            transfer(algorithm, 1)


def test_struct_ops_refusals():
    with load("struct_ops_ca") as coll:
        with pytest.raises(LoadError, match="no struct_ops map named 'nope'"):
            coll.attach_struct_ops("nope")
        assert coll.maps["pybpf_reno_old"].type == 26  # BPF_MAP_TYPE_STRUCT_OPS
