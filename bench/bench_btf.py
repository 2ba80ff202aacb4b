"""Benchmark pybpf.btf on the running kernel's BTF.

    python3 bench/bench_btf.py [--btf PATH] [--repeat N]

Prints, each in a fresh subprocess so nothing is warm: the time to open and
index vmlinux BTF (mmap + header + string table copy + one pass over the
types), the first ``ids_by_name("task_struct")`` (builds the packed name
offsets) and later lookups, the RSS the open spec adds, then (in one process)
decoding every type, ``to_bytes()``, and a Codec decoding a 48-byte event.
Medians over --repeat runs; cold figures as wall and CPU time (CPU time is the
fairer figure on a loaded machine).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_COLD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])

def rss_kib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

import mmap, struct, array  # what the spec module imports, so RSS counts the spec only
from pybpf.btf import Spec
before = rss_kib()
marks = []
def mark():
    marks.append((time.perf_counter(), time.process_time()))
mark()
spec = Spec.load_file(sys.argv[1])
mark()
ids = spec.ids_by_name("task_struct")
mark()
spec.ids_by_name("sk_buff")
mark()
names = ["file", "inode", "sock", "mm_struct", "cgroup", "pt_regs", "bpf_map", "net_device"]
for name in names:
    spec.ids_by_name(name)
mark()
spec[ids[0]]
mark()
after = rss_kib()
def span(i, per=1):
    return [(marks[i + 1][k] - marks[i][k]) / per for k in (0, 1)]
print(json.dumps({"types": spec.type_count - 1, "index": span(0), "first_lookup": span(1),
                  "second_lookup": span(2), "lookup": span(3, len(names)),
                  "decode_task_struct": span(4), "rss_kib": after - before}))
"""


def cold_run(btf: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _COLD, btf, str(ROOT)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def warm_figures(btf: str) -> dict:
    import time
    import timeit

    sys.path.insert(0, str(ROOT))
    from pybpf.btf import Spec
    from pybpf.btf.codec import Codec
    from pybpf.btf import Builder, Int, Array, Member, Struct

    spec = Spec.load_file(btf)
    t0 = time.perf_counter()
    for i in spec.iter_ids():
        spec[i]
    t1 = time.perf_counter()
    spec.to_bytes()
    t2 = time.perf_counter()
    b = Builder()
    i32 = b.add(Int("int", 4, signed=True))
    u64 = b.add(Int("unsigned long long", 8))
    ch = b.add(Int("char", 1, signed=True))
    comm = b.add(Array(ch, i32, 16))
    ev = b.add(Struct("event", 48, [
        Member("pid", i32, 0), Member("tid", i32, 32), Member("ts", u64, 64),
        Member("comm", comm, 128), Member("flags", i32, 256, 3), Member("level", i32, 259, 5),
        Member("ret", i32, 288), Member("cgroup", u64, 320)]))
    codec = Codec.for_type(b.to_spec(), ev)
    raw = codec.encode({"pid": 1, "tid": 2, "ts": 3, "comm": "bash", "flags": 1, "level": 3,
                        "ret": -1, "cgroup": 99})
    n = 100_000
    per = timeit.timeit(lambda: codec.decode(raw), number=n) / n
    task = Codec.for_type(spec, spec.ids_by_name("task_struct")[0])
    buf = bytes(task.size)
    task_per = timeit.timeit(lambda: task.decode(buf), number=200) / 200
    return {"decode_all": t1 - t0, "to_bytes": t2 - t1, "codec_event_us": per * 1e6,
            "codec_task_struct_us": task_per * 1e6, "task_struct_size": task.size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--btf", default="/sys/kernel/btf/vmlinux")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    runs = [cold_run(args.btf) for _ in range(args.repeat)]

    def med(key: str) -> str:
        wall = statistics.median(r[key][0] for r in runs) * 1e3
        cpu = statistics.median(r[key][1] for r in runs) * 1e3
        return f"{wall:8.2f} ms wall {cpu:8.2f} ms cpu"

    size = Path(args.btf).stat().st_size
    print(f"BTF {args.btf}: {size / 1e6:.1f} MB, {runs[0]['types']} types "
          f"(medians of {args.repeat} fresh processes; load average "
          f"{os.getloadavg()[0]:.1f})")
    print(f"  open + index                   {med('index')}")
    print(f"  first ids_by_name(task_struct) {med('first_lookup')}")
    print(f"  second ids_by_name(sk_buff)    {med('second_lookup')}")
    print(f"  later ids_by_name (mean of 8)  {med('lookup')}")
    print(f"  decode task_struct             {med('decode_task_struct')}")
    rss = statistics.median(r["rss_kib"] for r in runs)
    print(f"  RSS increase                   {rss / 1024:8.1f} MiB")
    warm = warm_figures(args.btf)
    print(f"  decode every type (one proc.)  {warm['decode_all']:8.2f} s")
    print(f"  to_bytes (unmodified)          {warm['to_bytes'] * 1e3:8.2f} ms")
    print(f"  Codec.decode 48-byte event     {warm['codec_event_us']:8.2f} us")
    print(f"  Codec.decode task_struct       {warm['codec_task_struct_us']:8.1f} us "
          f"({warm['task_struct_size']} bytes)")


if __name__ == "__main__":
    main()
