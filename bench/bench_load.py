"""Benchmark the whole cold start: open + CO-RE + load + attach (+ close), pybpf vs libbpf.

    python3 bench/bench_load.py [OBJ] [--repeat N]

Default object: bpf/objects/trace_exec.bpf.o (the execsnoop-like gadget; falls
back to core_read.bpf.o). Every sample runs in a fresh process:

- pybpf: ``pybpf.load(path)`` + ``coll.attach_all()`` + closing links and
  collection, timed in-process (wall and CPU) after ``import pybpf`` (which is
  lazy, so importing the loader's modules is part of ``load``). Cold: an empty
  cache directory (XDG_CACHE_HOME points at a new temporary directory); warm:
  a second process on the same cache. Two more rows time the same flows with
  the modules imported beforehand, to separate import cost from work. "index
  warm": an empty cache in which another object was loaded first, so only
  the kernel BTF index (not this object's results) is cached.
- libbpf: a small C program built here with ``gcc -lbpf`` (Debian's libbpf):
  bpf_object__open_file + bpf_object__load + bpf_program__attach for each
  program, then bpf_link__destroy + bpf_object__close, timed in-process with
  clock_gettime (CLOCK_MONOTONIC and CLOCK_PROCESS_CPUTIME_ID). libbpf keeps no
  state across processes, so each of its runs parses kernel BTF afresh.

pybpf's modules are byte-compiled first (``compileall``), as ``pip install``
does: with PYTHONDONTWRITEBYTECODE set, or in a fresh checkout, the imports
would otherwise time Python's compiler.

Which rows the targets apply to: libbpf is timed from bpf_object__open_file
on, with libbpf.so already mapped and linked by the dynamic loader, so its
like is pybpf with its modules already imported ("modules imported"). The
rows that count imports show what a fresh Python process adds on top, once.

The machine may be shared: figures are the minimum over --repeat samples
(the median is shown beside it), wall and CPU. Closing tracepoint links waits
for kernel RCU grace periods (tens of ms of wall time, almost no CPU, the same
for both loaders), so ratios are given for open..attach and for the whole
flow. Peak extra RSS is the pybpf process's high-water mark minus its RSS
before ``load``.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent

HARNESS_C = r"""
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <bpf/libbpf.h>

#define MAX_LINKS 64

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct mark {
	double wall, cpu;
};

static struct mark mark(void)
{
	struct mark m = { clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_PROCESS_CPUTIME_ID) };

	return m;
}

/* usage: load_libbpf OBJ; prints one line of JSON */
int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_LINKS];
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct mark m[5];
	int n = 0, err;

	libbpf_set_print(silent);
	m[0] = mark();
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		printf("{\"error\": \"open failed\"}\n");
		return 2;
	}
	m[1] = mark();
	err = bpf_object__load(obj);
	if (err) {
		printf("{\"error\": \"load failed: %d\"}\n", err);
		return 2;
	}
	m[2] = mark();
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__autoattach(prog) || n == MAX_LINKS)
			continue;
		links[n] = bpf_program__attach(prog);
		if (!links[n]) {
			printf("{\"error\": \"attach %s failed\"}\n", bpf_program__name(prog));
			return 2;
		}
		n++;
	}
	m[3] = mark();
	while (n > 0)
		bpf_link__destroy(links[--n]);
	bpf_object__close(obj);
	m[4] = mark();
	printf("{\"open\": [%.6f, %.6f], \"load\": [%.6f, %.6f], \"attach\": [%.6f, %.6f], "
	       "\"close\": [%.6f, %.6f]}\n",
	       m[1].wall - m[0].wall, m[1].cpu - m[0].cpu, m[2].wall - m[1].wall,
	       m[2].cpu - m[1].cpu, m[3].wall - m[2].wall, m[3].cpu - m[2].cpu,
	       m[4].wall - m[3].wall, m[4].cpu - m[3].cpu);
	return 0;
}
"""

_CHILD = r"""
import json, sys, time

def status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1])

def mark():
    return (time.perf_counter(), time.process_time())

import pybpf
if sys.argv[2] == "preimport":  # every module of the package, whatever the flow would import
    import importlib, pkgutil
    for info in pkgutil.walk_packages(pybpf.__path__, "pybpf."):
        if not info.name.endswith(".__main__"):  # that one runs the command line
            importlib.import_module(info.name)
rss0 = status("VmRSS:")
m0 = mark()
coll = pybpf.load(sys.argv[1])
m1 = mark()
links = coll.attach_all()
m2 = mark()
nlinks = len(links)
links.close()
coll.close()
m3 = mark()
span = lambda a, b: [b[0] - a[0], b[1] - a[1]]
print(json.dumps({"load": span(m0, m1), "attach": span(m1, m2), "close": span(m2, m3),
                  "rss_kib": status("VmHWM:") - rss0, "links": nlinks}))
"""

PHASES = ("open", "load", "attach", "close")


def build_harness(directory: str) -> Optional[str]:
    """Compile the libbpf program into ``directory``; None if gcc or libbpf is missing."""
    if shutil.which("gcc") is None:
        return None
    src = os.path.join(directory, "load_libbpf.c")
    exe = os.path.join(directory, "load_libbpf")
    with open(src, "w") as fh:
        fh.write(HARNESS_C)
    proc = subprocess.run(["gcc", "-O2", "-o", exe, src, "-lbpf"], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        print(f"libbpf harness did not build:\n{proc.stderr}", file=sys.stderr)
        return None
    return exe


def run_libbpf(harness: str, obj: str) -> Dict[str, List[float]]:
    proc = subprocess.run([harness, obj], capture_output=True, text=True, timeout=120)
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in doc:
        raise RuntimeError(f"libbpf: {obj}: {doc['error']}")
    return doc


def run_pybpf(obj: str, cache_home: str, mode: str = "") -> Dict[str, List[float]]:
    env = dict(os.environ, XDG_CACHE_HOME=cache_home, PYTHONPATH=str(ROOT))
    env.pop("PYBPF_NO_CORE_CACHE", None)
    proc = subprocess.run([sys.executable, "-c", _CHILD, obj, mode or "-"],
                          capture_output=True, text=True, env=env, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"pybpf: {obj}:\n{proc.stderr}")
    return json.loads(proc.stdout)


def _total(run: Dict[str, List[float]], phases, k: int) -> float:
    return sum(run[p][k] for p in phases if p in run)


class Figures:
    """Samples of one configuration: min/median of a span, wall (k=0) or CPU (k=1)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.runs: List[Dict[str, List[float]]] = []

    def values(self, phases, k: int) -> List[float]:
        return [_total(r, phases, k) for r in self.runs]

    def best(self, phases, k: int) -> float:
        return min(self.values(phases, k))

    def line(self, label: str, phases) -> str:
        w, c = self.values(phases, 0), self.values(phases, 1)
        return (f"{label:<26} wall {min(w) * 1e3:7.1f} ms (median {statistics.median(w) * 1e3:6.1f})"
                f"   cpu {min(c) * 1e3:7.1f} ms (median {statistics.median(c) * 1e3:6.1f})")


def default_object() -> str:
    obj = ROOT / "bpf" / "objects" / "trace_exec.bpf.o"
    if not obj.exists():
        obj = ROOT / "bpf" / "objects" / "core_read.bpf.o"
    return str(obj)


def other_object(obj: str) -> Optional[str]:
    """Another CO-RE object, loaded first for the 'index warm' configuration."""
    for name in ("core_read.bpf.o", "trace_open.bpf.o"):
        other = ROOT / "bpf" / "objects" / name
        if other.exists() and os.path.abspath(other) != obj:
            return str(other)
    return None


def bench(obj: str, repeat: int, harness: Optional[str]) -> None:
    cold, warm, pre = Figures("cold"), Figures("warm"), Figures("warm, modules imported")
    semi, semi_pre = Figures("index warm"), Figures("index warm, modules imported")
    lib = Figures("libbpf")
    other = other_object(obj)
    with tempfile.TemporaryDirectory() as warm_home:
        run_pybpf(obj, warm_home)  # fills the warm cache
        for _ in range(repeat):  # interleaved, so load changes hit every configuration alike
            with tempfile.TemporaryDirectory() as cold_home:
                cold.runs.append(run_pybpf(obj, cold_home))
            if other is not None:  # this boot's kernel BTF index cached, not obj's results
                for fig, mode in ((semi, ""), (semi_pre, "preimport")):
                    with tempfile.TemporaryDirectory() as semi_home:
                        run_pybpf(other, semi_home)
                        fig.runs.append(run_pybpf(obj, semi_home, mode))
            warm.runs.append(run_pybpf(obj, warm_home))
            pre.runs.append(run_pybpf(obj, warm_home, "preimport"))
            if harness is not None:
                lib.runs.append(run_libbpf(harness, obj))
        with tempfile.TemporaryDirectory() as cold_home:
            cold_pre = [run_pybpf(obj, tempfile.mkdtemp(dir=cold_home), "preimport")
                        for _ in range(repeat)]
    cpre = Figures("cold, modules imported")
    cpre.runs = cold_pre
    up = ("load", "attach")
    everything = ("load", "attach", "close")
    print(f"{os.path.relpath(obj, ROOT)}: {cold.runs[0]['links']} links; min of {repeat} "
          f"fresh processes each (load average {os.getloadavg()[0]:.1f})")
    figs = [cold, warm, cpre, pre] + ([semi, semi_pre] if semi.runs else [])
    for fig in figs:
        print(f"  pybpf {fig.name}")
        print("    " + fig.line("load+attach", up))
        print("    " + fig.line("load+attach+close", everything))
        print(f"    peak extra RSS {max(r['rss_kib'] for r in fig.runs) / 1024:.1f} MiB "
              f"(max over samples)")
    if harness is None:
        print("  libbpf: harness not built (gcc or libbpf-dev missing)")
        return
    lib_up = ("open", "load", "attach")
    lib_all = PHASES
    print("  libbpf (open_file + load + attach each program; destroy + close)")
    print("    " + lib.line("open+load+attach", lib_up))
    print("    " + lib.line("everything incl. close", lib_all))
    print("  ratios pybpf/libbpf (min vs min)      open..attach        whole flow")
    for fig in figs:
        cells = []
        for k in (0, 1):
            a = fig.best(up, k) / lib.best(lib_up, k)
            b = fig.best(everything, k) / lib.best(lib_all, k)
            cells.append((a, b))
        print(f"    {fig.name:<24} wall {cells[0][0]:5.2f}x cpu {cells[1][0]:5.2f}x   "
              f"wall {cells[0][1]:5.2f}x cpu {cells[1][1]:5.2f}x")
    imports = warm.best(up, 1) - pre.best(up, 1)
    print(f"  imports paid by a fresh process's first load (warm minus warm, modules "
          f"imported): {imports * 1e3:.1f} ms CPU")
    print("  targets, on the modules-imported rows (libbpf is timed already linked): "
          "cold <= 3x, warm <= 1.5x libbpf; peak extra RSS < 25 MiB")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("object", nargs="?", default=None)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    obj = os.path.abspath(args.object or default_object())
    compileall.compile_dir(str(ROOT / "pybpf"), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        bench(obj, args.repeat, build_harness(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
