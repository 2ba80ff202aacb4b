"""Overhead of trace_exec and trace_open: an exec loop and an open loop,
each timed without and with the gadget running (`pybpf run GADGET -o json`
writing to a file, as a user would), with the gadget's CPU time, peak RSS,
events received and events lost.

    python3 bench/bench_gadgets.py [--execs 6000] [--rate 2000] [--opens 100000]

Targets (from the issue): RSS < 40 MB, no lost events at 2,000 execs/s.
Needs root. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


TINY_C = "void _start(void){__asm__ volatile(\"mov $60,%eax; xor %edi,%edi; syscall\");}\n"


def exec_target(workdir: str) -> str:
    """A static do-nothing x86_64 binary (exec cost without ld.so), built
    with the host's C compiler; /bin/true when there is none."""
    src = os.path.join(workdir, "tiny.c")
    out = os.path.join(workdir, "tiny")
    with open(src, "w") as fh:
        fh.write(TINY_C)
    for cc in ("cc", "gcc", "clang"):
        try:
            subprocess.run([cc, "-O2", "-static", "-nostdlib", "-o", out, src], check=True,
                           capture_output=True)
            return out
        except (OSError, subprocess.CalledProcessError):
            continue
    return "/bin/true"


def exec_loop(n: int, target: str, tag: str, rate: float = 0.0) -> float:
    """n posix_spawn+wait of ``target`` (paced to ``rate``/s when > 0); seconds."""
    t0 = time.perf_counter()
    for i in range(n):
        if rate:
            ahead = t0 + i / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        pid = os.posix_spawn(target, [target, tag], {})
        os.waitpid(pid, 0)
    return time.perf_counter() - t0


def open_loop(n: int, path: str) -> float:
    code = (f"import os\nfor _ in range({n}):\n"
            f"    os.close(os.open({path!r}, os.O_RDONLY))")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t


class Gadget:
    """`pybpf run NAME -o json ...` in the background, output to a file."""

    def __init__(self, name: str, *args: str) -> None:
        self.out = tempfile.NamedTemporaryFile("w+", suffix=".jsonl", delete=False)
        self.proc = subprocess.Popen([sys.executable, "-m", "pybpf", "run", name, "-o", "json",
                                      *args], cwd=str(ROOT), stdout=self.out,
                                     stderr=subprocess.PIPE, text=True)
        # started once the first event (any process) has been written
        deadline = time.monotonic() + 30
        while os.path.getsize(self.out.name) == 0 and time.monotonic() < deadline:
            subprocess.run(["/bin/true"])
            time.sleep(0.05)
        self.cpu0 = cpu_seconds(self.proc.pid)

    def stop(self, match: str) -> dict:
        time.sleep(1.5)  # let it drain
        cpu = cpu_seconds(self.proc.pid) - self.cpu0
        rss = peak_rss_mb(self.proc.pid)
        self.proc.send_signal(2)
        self.proc.wait(timeout=30)
        seen = lost = 0
        with open(self.out.name) as fh:
            for line in fh:
                if match in line:
                    seen += 1
                elif line.startswith('{"type":"lost"'):
                    lost += json.loads(line)["lost"]
        os.unlink(self.out.name)
        return {"cpu": cpu, "rss": rss, "seen": seen, "lost": lost}


def report(name: str, n: int, base: float, traced: float, g: dict) -> None:
    print(f"{name}: {n} ops")
    print(f"  without gadget {base:7.2f} s  ({n / base:8.0f}/s)")
    print(f"  with gadget    {traced:7.2f} s  ({n / traced:8.0f}/s)  "
          f"slowdown {100 * (traced / base - 1):+.1f}%")
    print(f"  gadget CPU {g['cpu']:.2f} s ({1e6 * g['cpu'] / n:.0f} us/event), "
          f"peak RSS {g['rss']:.1f} MB, events {g['seen']}/{n}, lost {g['lost']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--execs", type=int, default=6000)
    ap.add_argument("--rate", type=float, default=2000.0, help="paced exec rate (execs/s)")
    ap.add_argument("--opens", type=int, default=100000)
    args = ap.parse_args()

    tag = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as work:
        target = exec_target(work)
        print(f"exec target: {target}")
        exec_loop(200, target, tag)  # warm up
        base = exec_loop(args.execs, target, tag)
        g = Gadget("trace_exec")
        traced = exec_loop(args.execs, target, tag)
        report("trace_exec exec loop (flat out)", args.execs, base, traced, g.stop(tag))

        n = int(args.rate * 5)
        tag2 = tag + "p"
        g = Gadget("trace_exec")
        took = exec_loop(n, target, tag2, rate=args.rate)
        r = g.stop(tag2)
        print(f"trace_exec at {args.rate:.0f} execs/s asked, {n / took:.0f}/s achieved: "
              f"events {r['seen']}/{n}, lost {r['lost']}, gadget CPU "
              f"{100 * r['cpu'] / took:.0f}% of a core, peak RSS {r['rss']:.1f} MB")

    with tempfile.NamedTemporaryFile(prefix="pybpf-bench-open-") as f:
        base = open_loop(args.opens, f.name)
        g = Gadget("trace_open", "--comm", os.path.basename(sys.executable)[:15])
        traced = open_loop(args.opens, f.name)
        report("trace_open open loop", args.opens, base, traced, g.stop(f.name))


if __name__ == "__main__":
    main()
