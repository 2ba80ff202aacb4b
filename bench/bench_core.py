"""Benchmark CO-RE: pybpf's open+relocate (cold and warm) against libbpf's, same run.

    python3 bench/bench_core.py [OBJ ...] [--btf PATH] [--repeat N]

For each object prints: pybpf cold (fresh process, empty disk cache), pybpf
warm (fresh process, disk cache filled), the peak extra RSS of the cold run,
and libbpf's times for the same object measured by a small C program built
here with ``gcc -lbpf``: bpf_object__open, open through the last CO-RE
relocation (libbpf creates maps and probes features before relocating), and
the whole bpf_object__load. Ratios are pybpf / libbpf, on wall time and on
CPU time (the machine may be shared).

This module also provides the libbpf harness to the differential tests
(``build_harness``, ``run_libbpf``, ``parse_libbpf_relos``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent

HARNESS_C = r"""
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

static double t0, last_relo, c0, last_relo_cpu;
static int quiet;

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double cpu(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (strstr(buf, ": relo #")) {
		last_relo = now();
		last_relo_cpu = cpu();
	}
	if (!quiet)
		fputs(buf, stdout);
	return 0;
}

/* usage: harness OBJ [BTF|-] [quiet] */
int main(int argc, char **argv)
{
	const char *btf = argc > 2 && strcmp(argv[2], "-") ? argv[2] : NULL;
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf);
	struct bpf_object *obj;
	double t_open, t_load;
	int err;

	quiet = argc > 3;
	libbpf_set_print(print_fn);
	t0 = now();
	c0 = cpu();
	obj = bpf_object__open_file(argv[1], &opts);
	t_open = now();
	if (!obj) {
		printf("OPEN-FAILED\n");
		return 2;
	}
	err = bpf_object__load(obj);
	t_load = now();
	printf("TIMING open=%.6f relocated=%.6f load=%.6f err=%d relocated_cpu=%.6f\n",
	       t_open - t0, (last_relo ? last_relo : t_load) - t0, t_load - t0, err,
	       (last_relo_cpu ? last_relo_cpu : cpu()) - c0);
	bpf_object__close(obj);
	return 0;
}
"""

_PATCH = re.compile(r"prog '([^']+)': relo #(\d+): patched insn #(\d+) \((ALU/ALU64|LDX/ST/STX|LDIMM64)\) "
                    r"(imm64|imm|off|mem_sz) (\d+) -> (\d+)")
_POISON = re.compile(r"prog '([^']+)': relo #(\d+): substituting insn #(\d+) w/ invalid insn")
_TIMING = re.compile(r"TIMING open=([\d.]+) relocated=([\d.]+) load=([\d.]+) err=(-?\d+) "
                     r"relocated_cpu=([\d.]+)")


@dataclass
class LibbpfRelo:
    """What libbpf's debug log says it did to one instruction."""

    program: str
    relo: int
    insn: int
    what: str  # "imm", "off", "imm64", "mem_sz" or "poison"
    old: int = 0
    new: int = 0


@dataclass
class LibbpfRun:
    relos: List[LibbpfRelo] = field(default_factory=list)
    open_s: float = 0.0
    relocated_s: float = 0.0
    load_s: float = 0.0
    relocated_cpu_s: float = 0.0
    err: int = 0
    log: str = ""


def build_harness(directory: str) -> Optional[str]:
    """Compile the libbpf harness into ``directory``; None if gcc or libbpf is missing."""
    if shutil.which("gcc") is None:
        return None
    src = os.path.join(directory, "core_libbpf.c")
    exe = os.path.join(directory, "core_libbpf")
    with open(src, "w") as fh:
        fh.write(HARNESS_C)
    proc = subprocess.run(["gcc", "-O2", "-o", exe, src, "-lbpf"], capture_output=True, text=True)
    return exe if proc.returncode == 0 else None


def parse_libbpf_relos(log: str) -> List[LibbpfRelo]:
    out = []
    for line in log.splitlines():
        m = _PATCH.search(line)
        if m:
            out.append(LibbpfRelo(m[1], int(m[2]), int(m[3]), m[5], int(m[6]), int(m[7])))
            continue
        m = _POISON.search(line)
        if m:
            out.append(LibbpfRelo(m[1], int(m[2]), int(m[3]), "poison"))
    return out


def run_libbpf(harness: str, obj: str, btf: Optional[str] = None, quiet: bool = False) -> LibbpfRun:
    args = [harness, obj, btf or "-"] + (["quiet"] if quiet else [])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    run = LibbpfRun(log=proc.stdout + proc.stderr)
    run.relos = parse_libbpf_relos(run.log)
    m = _TIMING.search(run.log)
    if m:
        run.open_s, run.relocated_s, run.load_s = float(m[1]), float(m[2]), float(m[3])
        run.err = int(m[4])
        run.relocated_cpu_s = float(m[5])
    return run


# -- pybpf side: each measurement in a fresh interpreter -------------------------------------

_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from pybpf.elf import ObjectSpec
from pybpf.core import relocate_spec
t_import = time.perf_counter()
c0 = time.process_time()
obj = ObjectSpec.from_file(sys.argv[1])
t_open = time.perf_counter()
res = relocate_spec(obj, None if sys.argv[2] == "-" else sys.argv[2])
t_rel = time.perf_counter()
cpu = time.process_time() - c0
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import": t_import - t0, "open": t_open - t_import, "relocate": t_rel - t_open,
                  "cpu": cpu, "rss_kib": rss1 - rss0, "relos": sum(len(v) for v in res.values())}))
"""


def run_pybpf(obj: str, btf: Optional[str], cache_home: str, use_cache: bool) -> Dict[str, float]:
    env = dict(os.environ, XDG_CACHE_HOME=cache_home, PYTHONPATH=str(ROOT))
    env.pop("PYBPF_NO_CORE_CACHE", None)
    if not use_cache:
        env["PYBPF_NO_CORE_CACHE"] = "1"
    proc = subprocess.run([sys.executable, "-c", _CHILD, obj, btf or "-"], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(proc.stdout)


def _median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench_object(obj: str, btf: Optional[str], repeat: int, harness: Optional[str]) -> None:
    with tempfile.TemporaryDirectory() as cache_home:
        cold = [run_pybpf(obj, btf, cache_home, use_cache=False) for _ in range(repeat)]
        run_pybpf(obj, btf, cache_home, use_cache=True)  # fill the cache
        warm = [run_pybpf(obj, btf, cache_home, use_cache=True) for _ in range(repeat)]
    c_open = _median([r["open"] + r["relocate"] for r in cold])
    w_open = _median([r["open"] + r["relocate"] for r in warm])
    rss = max(r["rss_kib"] for r in cold)
    print(f"{os.path.basename(obj)}: {cold[0]['relos']} CO-RE relocations, "
          f"target {btf or '/sys/kernel/btf/vmlinux'}")
    c_cpu = _median([r["cpu"] for r in cold])
    w_cpu = _median([r["cpu"] for r in warm])
    print(f"  pybpf cold  open+relocate {c_open * 1e3:8.1f} ms wall {c_cpu * 1e3:8.1f} ms cpu  "
          f"(relocate alone "
          f"{_median([r['relocate'] for r in cold]) * 1e3:.1f} ms; import "
          f"{_median([r['import'] for r in cold]) * 1e3:.0f} ms not counted)")
    print(f"  pybpf warm  open+relocate {w_open * 1e3:8.1f} ms wall {w_cpu * 1e3:8.1f} ms cpu  "
          "(disk cache hit)")
    print(f"  pybpf peak extra RSS      {rss / 1024:8.1f} MiB (cold)")
    if harness is None:
        print("  libbpf: harness not built (gcc or libbpf-dev missing)")
        return
    runs = [run_libbpf(harness, obj, btf, quiet=True) for _ in range(repeat)]
    l_open = _median([r.open_s for r in runs])
    l_rel = _median([r.relocated_s for r in runs])
    l_load = _median([r.load_s for r in runs])
    l_cpu = _median([r.relocated_cpu_s for r in runs])
    print(f"  libbpf      open          {l_open * 1e3:8.1f} ms")
    print(f"  libbpf      open..last CO-RE relocation {l_rel * 1e3:8.1f} ms wall "
          f"{l_cpu * 1e3:8.1f} ms cpu (includes map creation and feature probes)")
    print(f"  libbpf      open+load     {l_load * 1e3:8.1f} ms (includes verification; "
          f"err={runs[0].err})")
    print(f"  ratio wall: cold/libbpf-relocated {c_open / l_rel:6.2f}x   "
          f"warm/libbpf-relocated {w_open / l_rel:6.2f}x   cold/libbpf-load {c_open / l_load:6.2f}x")
    print(f"  ratio cpu:  cold/libbpf-relocated {c_cpu / l_cpu:6.2f}x   "
          f"warm/libbpf-relocated {w_cpu / l_cpu:6.2f}x")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("objects", nargs="*", help="objects (default: bpf/objects/core_*.bpf.o and "
                                               "trace_exec.bpf.o)")
    ap.add_argument("--btf", help="target BTF (default: the running kernel)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    objs = args.objects or sorted(str(p) for p in (ROOT / "bpf" / "objects").glob("core_*.bpf.o"))
    if not args.objects and (ROOT / "bpf/objects/trace_exec.bpf.o").exists():
        objs.append(str(ROOT / "bpf/objects/trace_exec.bpf.o"))
    with tempfile.TemporaryDirectory() as tmp:
        harness = build_harness(tmp)
        for obj in objs:
            bench_object(obj, args.btf, args.repeat, harness)
    return 0


if __name__ == "__main__":
    sys.exit(main())
