"""top_tcp on the real kernel: a loopback TCP transfer of known size is
counted exactly on both ends, per process and connection."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from gadgets import top_tcp

ROOT = Path(__file__).resolve().parents[2]
SIZE = 3 * 1024 * 1024 + 17


def _transfer(size: int, reply: int) -> tuple:
    """Send ``size`` bytes over loopback, get ``reply`` bytes back; both ends here."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    got = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            n = 0
            while n < size:
                chunk = conn.recv(1 << 16)
                if not chunk:
                    break
                n += len(chunk)
            got.append(n)
            conn.sendall(b"r" * reply)

    t = threading.Thread(target=serve)
    t.start()
    client = socket.create_connection(server.getsockname())
    client.sendall(b"s" * size)
    back = 0
    while back < reply:
        back += len(client.recv(1 << 16))
    t.join()
    ends = (client.getsockname(), server.getsockname())
    client.close()
    server.close()
    assert got == [size]
    return ends


def test_loopback_transfer_counted_exactly():
    with top_tcp.run(pid=os.getpid()) as run:
        top_tcp.collect(run)
        (caddr, cport), (saddr, sport) = _transfer(SIZE, 1000)
        rows = top_tcp.collect(run)
    client = [r for r in rows if r["sport"] == cport and r["dport"] == sport]
    server = [r for r in rows if r["sport"] == sport and r["dport"] == cport]
    assert len(client) == 1 and len(server) == 1
    assert (client[0]["sent"], client[0]["received"]) == (SIZE, 1000)
    assert (server[0]["sent"], server[0]["received"]) == (1000, SIZE)
    assert client[0]["src"] == f"127.0.0.1:{cport}" and client[0]["dst"] == f"127.0.0.1:{sport}"
    assert client[0]["proc"]["pid"] == os.getpid() and client[0]["family"] == 4


def test_family_filter_in_the_kernel():
    with top_tcp.run(pid=os.getpid(), family="6") as run:
        _transfer(1000, 10)
        rows = top_tcp.collect(run)
    assert rows == []


SENDER = """
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(float(sys.argv[2]))
s.sendall(b"x" * int(sys.argv[3]))
s.close()
"""


def test_command_line_json():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    sender = subprocess.Popen([sys.executable, "-c", SENDER, str(port), "2.5", "500000"])
    gadget = subprocess.Popen(
        [sys.executable, "-m", "gadgets.top_tcp", "-o", "json", "--interval", "0.5",
         "--timeout", "5", "--pid", str(sender.pid)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        conn, _ = server.accept()
        n = 0
        while True:
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            n += len(chunk)
        conn.close()
        out, _ = gadget.communicate(timeout=60)
    finally:
        sender.wait(timeout=30)
        server.close()
        if gadget.poll() is None:
            gadget.kill()
            gadget.wait()
    rows = [json.loads(line) for line in out.splitlines()]
    assert n == 500000
    assert sum(r["sent"] for r in rows if r["dport"] == port) == 500000


def test_pybpf_run_rows_per_interval():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    sender = subprocess.Popen([sys.executable, "-c", SENDER, str(port), "2.0", "300000"])
    gadget = subprocess.Popen([sys.executable, "-m", "pybpf", "run", "top_tcp", "-o", "json",
                               "--timeout", "4", "--pid", str(sender.pid)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        conn, _ = server.accept()
        while conn.recv(1 << 16):
            pass
        conn.close()
        out, _ = gadget.communicate(timeout=60)
    finally:
        sender.wait(timeout=30)
        server.close()
        if gadget.poll() is None:
            gadget.kill()
            gadget.wait()
    rows = [json.loads(line) for line in out.splitlines()]
    assert sum(r["sent"] for r in rows if r["dport"] == port) == 300000
