"""profile_tcprtt on the real kernel: a loopback TCP exchange lands in a
plausible RTT bucket (loopback: well under 100 ms), per remote address too."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from pybpf_gadgets import profile_tcprtt

ROOT = Path(__file__).resolve().parents[2]


def _ping_pong(rounds: int = 200) -> int:
    """Small request/response rounds over loopback; returns the server port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while True:
                data = conn.recv(64)
                if not data:
                    return
                conn.sendall(data)

    t = threading.Thread(target=serve)
    t.start()
    with socket.create_connection(("127.0.0.1", port)) as c:
        for _ in range(rounds):
            c.sendall(b"ping")
            c.recv(64)
    t.join()
    server.close()
    return port


def _busiest(hist):
    return max(hist["buckets"], key=lambda b: b["count"])


def test_loopback_rtt_in_a_plausible_bucket():
    with profile_tcprtt.run() as run:
        _ping_pong()
        rows = profile_tcprtt.collect(run)
    assert len(rows) == 1 and rows[0]["address"] == ""
    h = rows[0]["histogram"]
    assert h["unit"] == "usecs" and h["total"] == rows[0]["count"] >= 200
    assert _busiest(h)["high"] < 100_000  # loopback: far below 100 ms
    assert 0 < rows[0]["average"] < 100_000


def test_per_remote_address_and_port_filter():
    with profile_tcprtt.run(by="remote", sport=0) as run:
        _ping_pong(50)
        rows = profile_tcprtt.collect(run)
    assert "127.0.0.1" in [r["address"] for r in rows]


CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from test_gadget_profile_tcprtt import _ping_pong
_ping_pong(100)
"""


def test_process_filter_applies_to_the_socket_owner():
    here = str(Path(__file__).resolve().parent)
    with profile_tcprtt.run(pid=os.getpid()) as run:
        subprocess.run([sys.executable, "-c", CHILD, here], cwd=ROOT, check=True, timeout=60)
        others = profile_tcprtt.collect(run)
        _ping_pong(100)
        ours = profile_tcprtt.collect(run)
    assert sum(r["count"] for r in others) == 0
    assert sum(r["count"] for r in ours) >= 100


def test_command_line_text_chart():
    proc = subprocess.Popen([sys.executable, "-m", "pybpf", "run", "profile_tcprtt", "--timeout", "3"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline().startswith("Tracing")  # attached
    _ping_pong(100)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert "usecs" in lines[0] and "distribution" in lines[0]
    assert any("|*" in line for line in lines)
    assert any(line.startswith("average = ") for line in lines)


def test_pybpf_run_prints_the_histogram_at_the_end():
    proc = subprocess.Popen([sys.executable, "-m", "pybpf", "run", "profile_tcprtt", "-o", "json",
                             "--timeout", "3", "--by", "remote"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def traffic() -> None:  # until the run ends: whenever it attached, it sees some
        while not done.is_set():
            _ping_pong(20)

    t = threading.Thread(target=traffic)
    t.start()
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        done.set()
        t.join()
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert any(r["address"] == "127.0.0.1" and r["count"] > 0 for r in rows)
