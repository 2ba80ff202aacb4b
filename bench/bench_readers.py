"""Reader throughput: pybpf's RingBufReader/PerfReader against libbpf's
ring_buffer__poll/perf_buffer__poll on the same BPF object.

Workload: bpf/objects/readers_events.bpf.o; a program on
tracepoint/syscalls/sys_enter_getppid, filtered to the storm's tgid, emits
one 64-byte event per call. The storm (bench/peers/storm.c) calls getppid()
as fast as it can for --seconds. The libbpf peer (bench/peers/consume.c) is
built here with gcc -lbpf. Both consumers read every event's fields.

Prints events/s received and lost for each, and ours/libbpf (same ring
sizes, perf wakeup on every sample as libbpf's default). Then the no-loss
check: the storm throttled to 200k events/s for 10 s, which ours must
receive without loss (8 MiB ring buffer; perf: 1024 pages per CPU and a
wakeup every 64 samples, since a wakeup per sample caps the producer
itself below 200k/s on small VMs). Figures depend on machine load: run it
on an otherwise idle machine.

Then the same reader at a steady --paced-rate, first handed every record as
soon as it is woken, then with read_batch(gather=--gather): consumer CPU per
event and events per batch.

    sudo python3 bench/bench_readers.py [--seconds 3] [--kinds ringbuf,perf]
"""
from __future__ import annotations

import argparse
import os
import signal
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pybpf  # noqa: E402
from pybpf.links import attach  # noqa: E402
from pybpf.readers import PerfReader, RingBufReader  # noqa: E402

OBJ = ROOT / "bpf" / "objects" / "readers_events.bpf.o"
PEERS = ROOT / "bench" / "peers"
EVENT = struct.Struct("<QQIII I16sQQ")
MAGIC = 0xFEEDBEEF


@dataclass
class Result:
    who: str
    kind: str
    calls: int          # getppid() calls the storm made
    seconds: float      # storm duration
    received: int
    lost: int           # reported lost to the consumer (perf) or dropped in BPF (ringbuf)
    emitted: int        # events the BPF program tried to emit
    checksum: int
    cpu: float          # consumer CPU seconds (user + system) while consuming
    batches: int = 0    # non-empty batches the consumer was handed

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0

    @property
    def lost_rate(self) -> float:
        return self.lost / self.seconds if self.seconds else 0.0


def build(tmp: Path) -> dict:
    out = {}
    for name, libs in (("storm", []), ("consume", ["-lbpf"])):
        exe = tmp / name
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(PEERS / f"{name}.c"), *libs],
                       check=True)
        out[name] = exe
    return out


def start_storm(exe: Path, seconds: float, rate: float) -> subprocess.Popen:
    return subprocess.Popen([str(exe), str(seconds), str(rate)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)


def finish_storm(storm: subprocess.Popen):
    out, _ = storm.communicate()
    calls, secs = out.split()
    return int(calls), float(secs)


def run_libbpf(exes: dict, kind: str, seconds: float, rate: float, size: int) -> Result:
    storm = start_storm(exes["storm"], seconds, rate)
    peer = subprocess.Popen([str(exes["consume"]), str(OBJ), kind, str(storm.pid), str(size)],
                            stdout=subprocess.PIPE, text=True)
    try:
        if peer.stdout.readline().strip() != "ready":
            raise RuntimeError("libbpf peer failed to start")
        storm.stdin.write(b"g")
        storm.stdin.flush()
        calls, secs = finish_storm(storm)
        peer.send_signal(signal.SIGUSR1)
        line = peer.stdout.readline().split()
        peer.wait()
    finally:
        for proc in (storm, peer):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    received, lost, emitted, rb_dropped, perf_failed, checksum = map(int, line[:6])
    lost = rb_dropped if kind == "ringbuf" else max(lost, perf_failed)
    return Result("libbpf", kind, calls, secs, received, lost, emitted, checksum, float(line[6]))


def run_pybpf(exes: dict, kind: str, seconds: float, rate: float, size: int,
              watermark: int = 1, gather: float = 0.0) -> Result:
    spec = pybpf.ObjectSpec.from_file(str(OBJ))
    spec.maps["rb"].max_entries = size if kind == "ringbuf" else 4096
    storm = start_storm(exes["storm"], seconds, rate)
    received = checksum = batches = 0
    try:
        with pybpf.load(spec) as coll:
            coll.maps["targ"][0] = storm.pid
            prog = coll.programs["emit_ringbuf" if kind == "ringbuf" else "emit_perf"]
            reader = (RingBufReader(coll.maps["rb"]) if kind == "ringbuf"
                      else PerfReader(coll.maps["pb"], pages=size, watermark=watermark))
            with attach(prog), reader:
                cpu_start = _cpu_seconds()
                storm.stdin.write(b"g")
                storm.stdin.flush()
                while True:
                    done = storm.poll() is not None
                    # every record decoded by struct straight from the ring
                    batch = reader.read_batch(timeout=0 if done else 0.1, decode=EVENT,
                                              gather=0 if done else gather)
                    batches += bool(batch)
                    for seq, _, pid, _, cpu, magic, comm, arg0, _ in batch:
                        checksum += seq + pid + cpu + (magic == MAGIC) + arg0 + comm[0]
                    received += len(batch)
                    if done and not batch:
                        break
                lost = reader.lost
                cpu = _cpu_seconds() - cpu_start
            stats = [_as_int(coll.maps["stats"][i]) for i in range(3)]
        calls, secs = finish_storm(storm)
    finally:
        if storm.poll() is None:
            storm.kill()
            storm.wait()
    lost = stats[1] if kind == "ringbuf" else max(lost, stats[2])
    return Result("pybpf", kind, calls, secs, received, lost, stats[0], checksum, cpu, batches)


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _as_int(value) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "little")


def show(res: Result) -> None:
    print(f"  {res.who:7s} {res.kind:8s} received {res.rate / 1e6:6.3f} M/s "
          f"({res.received} of {res.emitted} emitted), lost {res.lost_rate / 1e6:6.3f} M/s "
          f"({res.lost}), storm {res.calls / res.seconds / 1e6:.3f} M calls/s, consumer CPU "
          f"{res.cpu / max(res.received, 1) * 1e9:.0f} ns/event"
          + (f", {res.received / res.batches:.0f} events/batch" if res.batches else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--kinds", default="ringbuf,perf")
    parser.add_argument("--rb-size", type=int, default=1 << 20, help="ring buffer bytes")
    parser.add_argument("--perf-pages", type=int, default=64, help="perf pages per CPU")
    parser.add_argument("--check-rate", type=float, default=200_000)
    parser.add_argument("--check-seconds", type=float, default=10.0)
    parser.add_argument("--check-rb-size", type=int, default=8 << 20,
                        help="ring buffer bytes for the no-loss check")
    parser.add_argument("--check-perf-pages", type=int, default=1024)
    parser.add_argument("--check-watermark", type=int, default=64,
                        help="perf: wake the reader every N samples in the no-loss check")
    parser.add_argument("--no-check", action="store_true")
    parser.add_argument("--paced-rate", type=float, default=20_000,
                        help="events/s of the gather comparison (0: skip it)")
    parser.add_argument("--gather", type=float, default=0.01,
                        help="seconds a batch may wait for more records in that comparison")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench_readers_") as tmp:
        exes = build(Path(tmp))
        for kind in args.kinds.split(","):
            size = args.rb_size if kind == "ringbuf" else args.perf_pages
            print(f"{kind}: storm at full speed for {args.seconds:g} s")
            theirs = run_libbpf(exes, kind, args.seconds, 0, size)
            show(theirs)
            ours = run_pybpf(exes, kind, args.seconds, 0, size)
            show(ours)
            ratio = ours.rate / theirs.rate if theirs.rate else 0.0
            print(f"  ours/libbpf received: {ratio:.2f}")
            if args.paced_rate:
                print(f"{kind}: {args.paced_rate:g} events/s for {args.seconds:g} s, "
                      f"a batch per wakeup, then gather={args.gather:g} s")
                for gather in (0.0, args.gather):
                    show(run_pybpf(exes, kind, args.seconds, args.paced_rate, size,
                                   gather=gather))
            if args.no_check:
                continue
            print(f"{kind}: no-loss check at {args.check_rate:g} events/s for "
                  f"{args.check_seconds:g} s")
            check_size = args.check_rb_size if kind == "ringbuf" else args.check_perf_pages
            check = run_pybpf(exes, kind, args.check_seconds, args.check_rate, check_size,
                              watermark=args.check_watermark)
            show(check)
            passed = check.lost == 0 and check.received == check.emitted
            ok &= passed
            print(f"  {'PASS' if passed else 'FAIL'}: {check.received} received of "
                  f"{check.emitted} emitted, {check.lost} lost")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
