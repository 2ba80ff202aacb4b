"""Benchmark Map element access on the running kernel (needs root).

    python3 bench/bench_maps.py [--entries N] [--repeat R]

Fills a hash map of N u32 -> u64 elements and prints, as medians over R runs:
per-element updates, batch update, ``items()`` (batched), iteration with a
lookup per key, ``lookup_batch``, and the round trip of one lookup;
then the cost of typed elements: ``items()`` and ``lookup_batch`` of a map of
N struct keys/values decoded from BTF (guide.bpf.o's ``opens``) against the
same map read raw (``Map.raw``); then Program.load of a two-instruction
program, and of a failing one (which includes the retry with a verifier log).
"""
from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pybpf  # noqa: E402
from pybpf.errors import VerifierError  # noqa: E402
from pybpf.maps import Map  # noqa: E402
from pybpf.programs import Program  # noqa: E402
from pybpf.uapi import MapType, ProgType  # noqa: E402


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def typed_rows(n: int, repeat: int) -> list:
    """items()/lookup_batch of struct proc_key -> struct open_stats, typed and raw."""
    spec = pybpf.ObjectSpec.from_file(Path(__file__).resolve().parent.parent / "bpf" / "objects"
                                      / "guide.bpf.o")
    spec.maps["opens"].max_entries = n
    rows = []
    with pybpf.load(spec) as coll:
        typed = coll.maps["opens"]
        typed.update_batch([(struct.pack("<I16s", i, b"bench"), struct.pack("<QQ", i, 2 * i))
                            for i in range(n)])
        for name, m in (("typed", typed), ("raw", typed.raw)):
            rows.append((f"items() {name} (struct key/value)",
                         median_time(lambda: sum(1 for _ in m.items()), repeat), n))
            rows.append((f"lookup_batch(256) {name}",
                         median_time(lambda: m.lookup_batch(256), repeat), n))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n = args.entries
    pairs = [(i, i * 3) for i in range(n)]
    rows = []
    with Map.new(MapType.HASH, 4, 8, n, name="bench") as m:
        def each() -> None:
            for k, v in pairs:
                m[k] = v
        rows.append(("update per element", median_time(each, args.repeat), n))
        rows.append(("update_batch", median_time(lambda: m.update_batch(pairs), args.repeat), n))
        rows.append(("items() (lookup batches of 256)",
                     median_time(lambda: sum(1 for _ in m.items()), args.repeat), n))

        def each_key() -> None:
            for raw in m.iter_raw_keys():
                m.lookup(raw)
        rows.append(("next_key + lookup per key", median_time(each_key, args.repeat), n))
        rows.append(("lookup_batch(256)", median_time(lambda: m.lookup_batch(256), args.repeat), n))
        key = struct.pack("<I", 7)
        rows.append(("lookup one key", median_time(lambda: m.lookup(key), args.repeat * 200), 1))

    rows += typed_rows(n, args.repeat)

    ret0 = struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)
    bad = struct.pack("<BBhi", 0x95, 0, 0, 0)

    def load_ok() -> None:
        Program.load("bench", ProgType.SOCKET_FILTER, ret0, "GPL").close()

    def load_bad() -> None:
        try:
            Program.load("bench", ProgType.SOCKET_FILTER, bad, "GPL")
        except VerifierError:
            pass
    rows.append(("Program.load (2 insns)", median_time(load_ok, args.repeat * 20), 1))
    rows.append(("Program.load refused (+log retry)", median_time(load_bad, args.repeat * 20), 1))

    print(f"{'operation':38} {'total':>10} {'per item':>12}")
    for name, secs, count in rows:
        print(f"{name:38} {secs * 1e3:8.2f}ms {secs / count * 1e6:10.2f}us")


if __name__ == "__main__":
    main()
