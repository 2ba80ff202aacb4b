"""Cost of serving gadget metrics (`pybpf serve`), so users can size it.

1. top_file + top_tcp under load: a file loop (4 KiB reads and writes over
   200 files) and a TCP loop (1 KiB ping-pong over 8 loopback connections)
   run for --seconds, in --rounds interleaved rounds (medians): with no gadget, with `pybpf serve
   top_file top_tcp` scraped every second, and with the peer, `pybpf run
   top_file -o json` plus `pybpf run top_tcp -o json` (the same gadgets,
   no metrics). Printed: the workload's rate, the gadget processes' CPU (% of
   one core) and peak RSS, and the scrape latency.
2. Scrape latency with 10k series: (a) `pybpf serve top_file:path` after a
   workload read 10,000 distinct files (10k series in each of its four
   counters); (b) a registry with 10,000 series served in-process while a
   thread keeps updating them (the updates done per second with and
   without scrapes running show that a scrape does not hold the readers).

    python3 bench/bench_metrics.py [--seconds 8] [--rounds 3] [--series 10000] [--scrapes 30]

Needs root. The modules are byte-compiled first, as an install would have
them. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import compileall
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_gadgets import cpu_seconds, peak_rss_mb  # noqa: E402  (bench/ is on sys.path)
SERVE = [sys.executable, "-m", "pybpf", "serve"]
RUN = [sys.executable, "-m", "pybpf", "run"]

FILE_LOOP = r"""
import os, sys, time
d, seconds = sys.argv[1], float(sys.argv[2])
fds = [os.open(os.path.join(d, f"f{i}"), os.O_RDWR | os.O_CREAT, 0o600) for i in range(200)]
buf = b"x" * 4096
n, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    for fd in fds:
        os.pwrite(fd, buf, 0)
        os.pread(fd, 4096, 0)
    n += 2 * len(fds)
print(n)
"""

TCP_LOOP = r"""
import socket, sys, threading, time
seconds, conns = float(sys.argv[1]), 8
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(conns)
def echo(c):
    while True:
        data = c.recv(1024)
        if not data:
            return
        c.sendall(data)
clients = []
for _ in range(conns):
    c = socket.create_connection(srv.getsockname())
    s, _ = srv.accept()
    threading.Thread(target=echo, args=(s,), daemon=True).start()
    clients.append(c)
buf, n, end = b"y" * 1024, 0, time.monotonic() + seconds
while time.monotonic() < end:
    for c in clients:
        c.sendall(buf)
        got = 0
        while got < len(buf):
            got += len(c.recv(len(buf) - got))
    n += len(clients)
print(n)
"""


def get(url: str) -> Tuple[float, int]:
    """(seconds, bytes) of one GET."""
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as resp:
        body = resp.read()
    return time.perf_counter() - t, len(body)


def start_serve(args: List[str]) -> Tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(SERVE + args + ["--listen", "127.0.0.1:0"], cwd=str(ROOT),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.5)[0]:
            line = proc.stderr.readline()
            m = re.search(r"http://(127\.0\.0\.1:\d+)/metrics", line)
            if m:
                return proc, f"http://{m.group(1)}/metrics"
            if not line:
                break
    proc.kill()
    raise SystemExit(f"pybpf serve did not start: {proc.stderr.read()}")


def start_run(gadget: str) -> subprocess.Popen:
    proc = subprocess.Popen(RUN + [gadget, "-o", "json", "--interval", "1", "--max-rows", "0"],
                            cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(3)  # loaded and attached (no output to wait for without load)
    return proc


def workload(seconds: float, work: str) -> Dict[str, float]:
    """Both loops at once for ``seconds``; their ops per second."""
    f = subprocess.Popen([sys.executable, "-c", FILE_LOOP, work, str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    t = subprocess.Popen([sys.executable, "-c", TCP_LOOP, str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    return {"file": int(f.communicate()[0]) / seconds, "tcp": int(t.communicate()[0]) / seconds}


def scraper(url: str, stop: threading.Event, out: List[Tuple[float, int]]) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(1.0):
            out.append(get(url))
    th = threading.Thread(target=loop, daemon=True)
    th.start()
    return th


def _with_serve(seconds: float, work: str) -> Tuple[Dict[str, float], float, float, list]:
    proc, url = start_serve(["top_file", "top_tcp", "--interval", "1"])
    try:
        time.sleep(1)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        stop, scrapes = threading.Event(), []
        th = scraper(url, stop, scrapes)
        rate = workload(seconds, work)
        stop.set()
        th.join()
        cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
        return rate, cpu, peak_rss_mb(proc.pid), scrapes
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def _with_peer(seconds: float, work: str) -> Tuple[Dict[str, float], float, float]:
    peers = [start_run("top_file"), start_run("top_tcp")]
    try:
        cpu0s, t0 = [cpu_seconds(p.pid) for p in peers], time.monotonic()
        rate = workload(seconds, work)
        took = time.monotonic() - t0
        cpu = sum(cpu_seconds(p.pid) - c for p, c in zip(peers, cpu0s)) / took
        return rate, cpu, sum(peak_rss_mb(p.pid) for p in peers)
    finally:
        for p in peers:
            p.send_signal(signal.SIGINT)
            p.wait(30)


def under_load(seconds: float, rounds: int) -> None:
    print(f"== top_file + top_tcp under load: {rounds} rounds of {seconds:g} s per row, "
          "medians (2 loops at once) ==")
    runs: Dict[str, list] = {"none": [], "serve": [], "peer": []}
    scrapes: list = []
    with tempfile.TemporaryDirectory(prefix="pybpf-bench-metrics-") as work:
        for _ in range(rounds):  # interleaved, so a noisy neighbour hits every row alike
            runs["none"].append((workload(seconds, work), None, None))
            rate, cpu, rss, got = _with_serve(seconds, work)
            runs["serve"].append((rate, cpu, rss))
            scrapes += got
            runs["peer"].append(_with_peer(seconds, work))

    def med(key: str, pick) -> Optional[float]:
        values = [pick(r) for r in runs[key]]
        return None if values[0] is None else statistics.median(values)

    names = {"none": "no gadget", "serve": "pybpf serve top_file top_tcp",
             "peer": "peer: pybpf run top_file + top_tcp -o json"}
    print(f"{'':44} {'file ops/s':>11} {'tcp ops/s':>10} {'CPU % core':>10} {'RSS MB':>7}")
    for key, name in names.items():
        cpu, rss = med(key, lambda r: r[1]), med(key, lambda r: r[2])
        print(f"{name:44} {med(key, lambda r: r[0]['file']):11.0f} "
              f"{med(key, lambda r: r[0]['tcp']):10.0f} "
              f"{'' if cpu is None else f'{100 * cpu:.1f}':>10} "
              f"{'' if rss is None else f'{rss:.1f}':>7}")
    lat = sorted(t for t, _ in scrapes)
    if lat:
        print(f"  scrapes under load: {len(lat)}, median {1000 * statistics.median(lat):.1f} ms, "
              f"max {1000 * lat[-1]:.1f} ms, {scrapes[-1][1]} bytes")
    serve_cpu, peer_cpu = med("serve", lambda r: r[1]), med("peer", lambda r: r[1])
    if serve_cpu and peer_cpu:
        print(f"  serve CPU / peer CPU: {serve_cpu / peer_cpu:.2f}")


def touch_files(work: str, n: int) -> None:
    d = Path(work)
    for i in range(n):
        p = d / f"s{i:05d}"
        p.write_bytes(b"z")


def series_real(n: int, scrapes: int) -> None:
    print(f"== scrape latency, pybpf serve top_file:path with {n} files read ==")
    # other processes' files count too: a cap far above what this workload adds
    proc, url = start_serve(["top_file:path", "--interval", "1", "--max-series", str(4 * n)])
    try:
        with tempfile.TemporaryDirectory(prefix="pybpf-bench-series-") as work:
            half = n // 2  # the kernel map holds 10240 rows per interval: two intervals
            touch_files(work, half)
            time.sleep(1.5)
            for i in range(half, n):
                (Path(work) / f"s{i:05d}").write_bytes(b"z")
            time.sleep(2.5)
            body = urllib.request.urlopen(url, timeout=30).read().decode()
            mine = sum(1 for line in body.splitlines()
                       if line.startswith("pybpf_top_file_write_bytes_total") and work in line)
            cpu0 = cpu_seconds(proc.pid)
            lat, size = zip(*(get(url) for _ in range(scrapes)))
            cpu = cpu_seconds(proc.pid) - cpu0
        print(f"  series of this workload in write_bytes_total: {mine} "
              f"(all series: {sum(1 for line in body.splitlines() if not line.startswith('#'))})")
        report(lat, size, cpu)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def report(lat, size, cpu: Optional[float] = None) -> None:
    ordered = sorted(lat)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    extra = "" if cpu is None else f", serving CPU {1000 * cpu / len(lat):.1f} ms per scrape"
    print(f"  {len(lat)} scrapes: median {1000 * statistics.median(lat):.1f} ms, "
          f"p95 {1000 * p95:.1f} ms, max {1000 * ordered[-1]:.1f} ms, "
          f"{size[-1] / 1024:.0f} KiB{extra}")


def series_synthetic(n: int, scrapes: int) -> None:
    from pybpf_gadgets.metrics.registry import Registry
    from pybpf_gadgets.metrics.server import MetricsServer

    print(f"== scrape latency, in-process registry with {n} series, updated meanwhile ==")
    registry = Registry(max_series=n)
    counter = registry.counter("pybpf_bench_events_total", "bench", ("container", "comm", "pid"))
    keys = [(f"c{i % 50}", f"comm{i % 997}", str(i)) for i in range(n)]
    counter.inc_many({k: 1 for k in keys})
    stop = threading.Event()
    done = [0]

    def updater() -> None:
        batch = {}
        i = 0
        while not stop.is_set():
            batch = {keys[(i + j) % n]: 1 for j in range(256)}
            counter.inc_many(batch)
            done[0] += len(batch)
            i += 256

    with MetricsServer(registry, "127.0.0.1", 0) as server:
        url = "http://%s:%d/metrics" % server.address
        print("  no updates meanwhile:")
        report(*zip(*(get(url) for _ in range(scrapes))))
        th = threading.Thread(target=updater, daemon=True)
        th.start()
        time.sleep(1)
        n0, t0 = done[0], time.monotonic()
        time.sleep(2)
        quiet = (done[0] - n0) / (time.monotonic() - t0)
        n0, t0 = done[0], time.monotonic()
        lat, size = zip(*(get(url) for _ in range(scrapes)))
        busy = (done[0] - n0) / (time.monotonic() - t0)
        stop.set()
        th.join()
    print("  a reader thread updating flat out meanwhile:")
    report(lat, size)
    print(f"  updates/s by a reader thread: {quiet:,.0f} without scrapes, {busy:,.0f} while "
          f"scraping back to back ({100 * busy / quiet:.0f}%; one process, so the GIL is shared)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--series", type=int, default=10000)
    ap.add_argument("--scrapes", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    for package in ("pybpf", "gadgets"):
        compileall.compile_dir(str(ROOT / package), quiet=1)
    under_load(args.seconds, args.rounds)
    series_real(args.series, args.scrapes)
    series_synthetic(args.series, args.scrapes)


if __name__ == "__main__":
    main()
