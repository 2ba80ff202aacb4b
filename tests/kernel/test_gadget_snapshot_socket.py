"""snapshot_socket on the real kernel: a listening TCP socket, a connected
pair and a UDP socket are found with their owner, state and inode."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from pybpf_gadgets import snapshot_socket

ROOT = Path(__file__).resolve().parents[2]


def test_listening_and_connected_sockets_found_with_owner():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.bind(("::1", 0))
    udp_port = udp.getsockname()[1]
    try:
        rows = snapshot_socket.run(pid=os.getpid())
        ino, fd = os.fstat(listener.fileno()).st_ino, listener.fileno()
    finally:
        for s in (accepted, client, listener, udp):
            s.close()
    by_src = {(r["protocol"], r["src"], r["state"]): r for r in rows}
    listen = by_src[("TCP", f"127.0.0.1:{port}", "LISTEN")]
    assert listen["dst"] == "0.0.0.0:0"
    assert listen["inode"] == ino
    assert listen["proc"]["pid"] == os.getpid()
    assert {"pid": os.getpid(), "comm": listen["proc"]["comm"], "fd": fd} \
        in listen["owners"]
    assert listen["netns_id"] == os.stat("/proc/self/ns/net").st_ino
    established = [r for r in rows if r["protocol"] == "TCP" and r["state"] == "ESTABLISHED"
                   and port in (r["sport"], r["dport"])]
    assert len(established) == 2
    u = by_src[("UDP", f"[::1]:{udp_port}", "UNCONNECTED")]
    assert u["family"] == 6
    # the pid filter kept only our sockets
    assert all(r["proc"]["pid"] == os.getpid() for r in rows)


def test_unfiltered_includes_unowned_and_protocol_param():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        tcp_only = snapshot_socket.run(protocol="tcp")
    finally:
        listener.close()
    assert {r["protocol"] for r in tcp_only} == {"TCP"}
    assert any(r["sport"] == port and r["state"] == "LISTEN" for r in tcp_only)


def test_command_line_json():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        out = subprocess.run([sys.executable, "-m", "pybpf", "run", "snapshot_socket", "-o", "json",
                              "--pid", str(os.getpid())],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    finally:
        listener.close()
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert any(r["sport"] == port and r["state"] == "LISTEN" for r in rows)
