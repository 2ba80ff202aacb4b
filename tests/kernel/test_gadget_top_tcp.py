"""top_tcp on the real kernel: a loopback TCP transfer of known size is
counted exactly on both ends, per process and connection."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from pybpf_gadgets import top_tcp

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
import os, socket, sys, time
port, canary_port, go, size = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
c = socket.create_connection(("127.0.0.1", canary_port))
while not os.path.exists(go):  # canary bytes until the gadget shows it is counting
    c.sendall(b"c")
    time.sleep(0.05)
s.sendall(b"x" * size)
s.close()
c.close()
"""


def _counted_transfer(tmp_path, argv_prefix, size):
    """Run the gadget on a sender that transfers ``size`` bytes once the gadget
    has shown a row for its canary connection; the rows of the transfer."""
    server, canary = socket.socket(), socket.socket()
    for s in (server, canary):
        s.bind(("127.0.0.1", 0))
        s.listen(1)
    port, canary_port = server.getsockname()[1], canary.getsockname()[1]
    go = tmp_path / "go"
    sender = subprocess.Popen([sys.executable, "-c", SENDER, str(port), str(canary_port),
                               str(go), str(size)])
    gadget = subprocess.Popen(argv_prefix + ["-o", "json", "--interval", "0.3", "--pid",
                                             str(sender.pid)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    received = []

    def drain(sock):
        conn, _ = sock.accept()
        n = 0
        while True:
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            n += len(chunk)
        conn.close()
        received.append((sock.getsockname()[1], n))

    threads = [threading.Thread(target=drain, args=(s,)) for s in (server, canary)]
    for t in threads:
        t.start()
    rows = []
    try:
        for line in gadget.stdout:
            rows.append(json.loads(line))
            if rows[-1]["dport"] == canary_port:
                go.touch()
                break
        sender.wait(timeout=30)
        for t in threads:
            t.join(timeout=30)
        time.sleep(1.0)  # the last interval ends
    finally:
        sender.kill()
        sender.wait()
        gadget.terminate()
        rest, _ = gadget.communicate(timeout=30)
        server.close()
        canary.close()
    rows += [json.loads(line) for line in rest.splitlines()]
    assert dict(received)[port] == size
    return [r for r in rows if r["dport"] == port]


def test_command_line_json(tmp_path):
    rows = _counted_transfer(tmp_path, [sys.executable, "-m", "pybpf", "run", "top_tcp"], 500000)
    assert sum(r["sent"] for r in rows) == 500000
    assert all(r["timestamp"].endswith("Z") for r in rows)


def test_pybpf_run_rows_per_interval(tmp_path):
    rows = _counted_transfer(tmp_path, [sys.executable, "-m", "pybpf", "run", "top_tcp"], 300000)
    assert sum(r["sent"] for r in rows) == 300000
