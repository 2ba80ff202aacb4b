"""Gadgets against BCC's C libbpf-tools in one run: `pybpf run trace_open -o json`
beside opensnoop and `pybpf run trace_exec -o json` beside execsnoop, in
alternating runs, tool pinned to CPU 0 and load (bench/peers/loadgen.c) to
CPU 1. Prints the table of issue #18, each row with the peer's figure from
the same run and the ratio:

  - launch to first event (warm CO-RE cache; cold cache on its own row): the
    load generator opens (execs) a probe name every millisecond; time from
    spawning the tool to the first line naming it (the C tool line-buffered
    by stdbuf, as on a terminal);
  - SIGINT to exit after the first event (detaching: the kernel's part is
    the same for both);
  - peak RSS (VmHWM) of the tool at its first event (start-up's share) and
    at 20k opens/s (a warm cache: an unmeasured run fills it first);
  - CPU per event at 20k opens/s (JSON, and pybpf's columns), at 1000 execs/s;
  - received at 50k and 100k opens/s for 10 s (pybpf's received + reported
    lost is checked against the opens done; opensnoop drops silently);
  - whole-process `pybpf load trace_exec.bpf.o` against `bpftool prog loadall`;
  - the zipapp (tools/build_pyz.py): its size against the C tool's binary, and
    launch to first event of `python3 pybpf.pyz run trace_open` (warm cache).

The open storms are filtered by pid in the kernel (opensnoop -p, --pid);
the exec storm is host-wide for both (execsnoop has no such filter), so
other processes' execs count as events for both. pybpf is the installed,
byte-compiled package of this tree (a venv made with `pip install .`), or
--python. The C tools are built from ../shared/anchors (or --anchors); when
that fails, their columns say why and the rest still runs. Needs root, gcc,
taskset, stdbuf; figures depend on machine load (alternating runs share it).

    sudo python3 bench/bench_storm.py [--repeat 3] [--rows launch,open,exec,load,pyz]
"""
from __future__ import annotations

import argparse
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
CLK_TCK = os.sysconf("SC_CLK_TCK")
F_SETPIPE_SZ = 1031
TOOL_CPU, LOAD_CPU = "0", "1"
DRAIN_QUIET = 0.5   # seconds of (nearly) no CPU use that mean the tool has drained
DRAIN_LIMIT = 30.0
GOALS = {"launch": 2.0, "cpu": 2.0, "rss": 1.5, "load": 2.5}


# -- building what the bench runs ----------------------------------------------
def build_peers(work: Path) -> Dict[str, str]:
    out = {}
    for name, extra in (("loadgen", []), ("linecount", [])):
        exe = work / name
        subprocess.run(["gcc", "-O2", "-Wall", "-o", str(exe), str(PEERS / f"{name}.c"), *extra],
                       check=True)
        out[name] = str(exe)
    noop = work / "noop"
    subprocess.run(["gcc", "-O2", "-static", "-nostdlib", "-o", str(noop), str(PEERS / "noop.c")],
                   check=True)
    out["noop"] = str(noop)
    return out


def find_anchors(given: Optional[str]) -> Optional[Path]:
    candidates = [Path(given)] if given else [ROOT.parent / "shared" / "anchors",
                                              Path("/work/shared/anchors")]
    for path in candidates:
        if (path / "build_anchors.sh").is_file() and (path / "bcc-libbpf-tools").is_dir():
            return path
    return None


def build_c_tools(work: Path, anchors: Optional[Path]) -> Dict[str, str]:
    """opensnoop and execsnoop built in a copy (the anchors may be read-only);
    an empty dict, with the reason printed, when they cannot be built."""
    if anchors is None:
        print("C tools: no anchors directory (../shared/anchors); peer columns skipped")
        return {}
    tools = work / "libbpf-tools"
    out = {name: str(tools / ".out" / name) for name in ("opensnoop", "execsnoop")}
    if all(os.access(p, os.X_OK) for p in out.values()):
        return out
    shutil.rmtree(tools, ignore_errors=True)
    shutil.copytree(anchors / "bcc-libbpf-tools", tools)
    done = subprocess.run(["sh", str(anchors / "build_anchors.sh"), str(tools),
                           "opensnoop", "execsnoop"], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(f"C tools: build failed ({last}); peer columns skipped")
        return {}
    return out


def installed_pybpf(work: Path, python: Optional[str]) -> str:
    """The `pybpf` script of a venv holding this tree installed (not editable)
    and byte-compiled; or the one next to --python."""
    if python:
        return str(Path(python).parent / "pybpf")
    venv = work / "venv"
    # built from a clean copy: pip builds in the source tree, where a stale build/
    # directory would bring back modules that no longer exist
    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    pip = [str(venv / "bin" / "pip"), "install", "-q"]
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(pip + [str(src)], check=True)
    else:
        subprocess.run([str(venv / "bin" / "pip"), "uninstall", "-q", "-y", "pybpf"], check=True)
        subprocess.run(pip + ["--no-deps", str(src)], check=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", site], check=True)
    return str(venv / "bin" / "pybpf")


# -- one run of a tool beside a load ---------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Run:
    launch: float = 0.0     # seconds from spawn to the first probe event shown
    done: int = 0           # operations the storm did
    seconds: float = 0.0    # how long the storm took
    received: int = 0       # storm events the tool printed
    lines: int = 0          # every line it printed
    lost: int = 0           # events it reported lost
    cpu: float = 0.0        # tool CPU seconds from the storm's start to the drain's end
    rss: float = 0.0        # peak RSS, MiB
    exit: float = float("nan")  # seconds from SIGINT to the tool's exit

    @property
    def cpu_per_event_us(self) -> float:
        return 1e6 * self.cpu / self.received if self.received else float("nan")


@dataclass
class Env:
    exes: Dict[str, str]
    cache: str            # XDG_CACHE_HOME for pybpf (its CO-RE cache)
    pybpf: str
    c_tools: Dict[str, str] = field(default_factory=dict)


def run_tool(env: Env, cmd: Sequence[str], kind: str, rate: float = 0, seconds: float = 0,
             storm: bool = False, cache: Optional[str] = None) -> Run:
    """Start the load (probing), then the tool; wait for its first event;
    with ``storm``, run the storm and let the tool drain before stopping it."""
    tag = f"pbs{uuid.uuid4().hex[:10]}"
    gen_cmd = ["taskset", "-c", LOAD_CPU, env.exes["loadgen"], kind, tag, str(rate), str(seconds)]
    if kind == "exec":
        gen_cmd.append(env.exes["noop"])
    gen = subprocess.Popen(gen_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    cmd = [c.replace("{PID}", str(gen.pid)) for c in cmd]
    read_end, write_end = os.pipe()
    try:
        import fcntl
        fcntl.fcntl(write_end, F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass
    counter = subprocess.Popen(["taskset", "-c", LOAD_CPU, env.exes["linecount"], tag],
                               stdin=read_end, stdout=subprocess.PIPE, text=True)
    os.close(read_end)
    tool_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    tool_env["XDG_CACHE_HOME"] = cache or env.cache
    errors = tempfile.TemporaryFile("w+")
    t0 = time.monotonic()
    tool = subprocess.Popen(["taskset", "-c", TOOL_CPU, *cmd], stdout=write_end, stderr=errors,
                            env=tool_env, cwd=tempfile.gettempdir())
    os.close(write_end)
    run = Run()
    try:
        first = counter.stdout.readline().split()
        if not first or first[0] != "first":
            raise RuntimeError(f"{cmd[0]} showed no event: {_stderr(errors)}")
        run.launch = float(first[1]) - t0
        if storm:
            cpu0 = cpu_seconds(tool.pid)
            gen.stdin.write("g")
            gen.stdin.flush()
            done, took = gen.stdout.readline().split()
            run.done, run.seconds = int(done), float(took)
            wait_drained(tool.pid)
            run.cpu = cpu_seconds(tool.pid) - cpu0
        run.rss = peak_rss_mib(tool.pid)
    finally:
        gen.stdin.close()
        gen.wait()
        if tool.poll() is None:
            run.exit = interrupt_and_time(tool)
        tool.wait()
        tail = counter.communicate()[0].split()
    if tail[:1] == ["end"]:
        run.received, run.lines, run.lost = map(int, tail[1:4])
    run.lost += _stderr_lost(errors)
    return run


def interrupt_and_time(tool: subprocess.Popen) -> float:
    """SIGINT to ``tool``, then the seconds until it exits (killed after 20 s: nan).
    Its pidfd becomes readable at the exit itself; Popen.wait(timeout) would poll
    with sleeps of up to 50 ms and round every figure up to its schedule."""
    pidfd = os.pidfd_open(tool.pid)
    try:
        tool.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        if select.select([pidfd], [], [], 20)[0]:
            return time.monotonic() - interrupted
        tool.kill()
        return float("nan")
    finally:
        os.close(pidfd)


def wait_drained(pid: int) -> None:
    """Until the tool has been idle for a while (it has shown what it had)."""
    deadline = time.monotonic() + DRAIN_LIMIT
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(DRAIN_QUIET)
        now = cpu_seconds(pid)
        if now - last < 0.02 * DRAIN_QUIET:
            return
        last = now


def _stderr(fh) -> str:
    fh.seek(0)
    text = fh.read().strip()
    return text.splitlines()[-1] if text else "(nothing on stderr)"


def _stderr_lost(fh) -> int:
    """Events pybpf's column output reports lost (on stderr)."""
    fh.seek(0)
    total = 0
    for line in fh:
        if line.startswith("pybpf: lost "):
            total += int(line.split()[2])
    return total


# -- the rows --------------------------------------------------------------------
def pybpf_cmd(env: Env, gadget: str, output: str = "json") -> List[str]:
    cmd = [env.pybpf, "run", gadget, "-o", output]
    return cmd + (["--pid", "{PID}"] if gadget == "trace_open" else [])


def c_cmd(env: Env, tool: str, line_buffered: bool = False) -> Optional[List[str]]:
    if tool not in env.c_tools:
        return None
    cmd = [env.c_tools[tool]] + (["-p", "{PID}"] if tool == "opensnoop" else [])
    return (["stdbuf", "-oL"] + cmd) if line_buffered else cmd


def alternate(repeat: int, runs: Dict[str, Optional[callable]]) -> Dict[str, List[Run]]:
    """Each named run ``repeat`` times, interleaved, the order rotating."""
    names = [n for n, f in runs.items() if f is not None]
    out: Dict[str, List[Run]] = {n: [] for n in runs}
    for i in range(repeat):
        for name in names[i % len(names):] + names[:i % len(names)]:
            out[name].append(runs[name]())
    return out


class Table:
    def __init__(self) -> None:
        self.rows: List[tuple] = []

    def add(self, figure: str, ours: str, theirs: str, ratio: Optional[float] = None,
            goal: Optional[float] = None, note: str = "") -> None:
        r = "" if ratio is None else f"{ratio:.2f}x"
        met = "" if goal is None or ratio is None else ("met" if ratio <= goal else "NOT met")
        if goal is not None:
            met = f"<= {goal:g}x: {met}" if met else f"<= {goal:g}x"
        self.rows.append((figure, ours, theirs, r, met, note))
        print(f"  {figure}: pybpf {ours} | C {theirs} | {r} {met} {note}", flush=True)

    def show(self) -> None:
        print("\n| figure | pybpf | C tool | ratio | goal | note |")
        print("|---|---|---|---|---|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


def median(values: Sequence[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def ratio_of(ours: float, theirs: float) -> Optional[float]:
    return ours / theirs if theirs and theirs == theirs and ours == ours else None


def ms(value: float) -> str:
    return f"{1e3 * value:.0f} ms" if value == value else "-"


def launch_rows(env: Env, table: Table, repeat: int) -> None:
    for gadget, tool, kind in (("trace_open", "opensnoop", "open"),
                               ("trace_exec", "execsnoop", "exec")):
        ours_cmd, theirs_cmd = pybpf_cmd(env, gadget), c_cmd(env, tool, line_buffered=True)
        run_tool(env, ours_cmd, kind)  # warms the CO-RE cache (and the page cache)

        def cold():
            with tempfile.TemporaryDirectory(prefix="pybpf-cold-") as fresh:
                return run_tool(env, ours_cmd, kind, cache=fresh)

        runs = alternate(repeat, {
            "warm": lambda: run_tool(env, ours_cmd, kind),
            "cold": cold,
            "c": (lambda: run_tool(env, theirs_cmd, kind)) if theirs_cmd else None,
        })
        warm = median([r.launch for r in runs["warm"]])
        cold_t = median([r.launch for r in runs["cold"]])
        c = median([r.launch for r in runs["c"]])
        table.add(f"launch to first event, {gadget} / {tool} (warm cache)", ms(warm), ms(c),
                  ratio_of(warm, c), GOALS["launch"], f"median of {repeat}")
        table.add(f"launch to first event, {gadget} / {tool} (cold cache)", ms(cold_t), ms(c),
                  ratio_of(cold_t, c), None, f"median of {repeat}")
        # at the first event, before any storm: the interpreter and what start-up imported
        rss = median([r.rss for r in runs["warm"]])
        c_rss = median([r.rss for r in runs["c"]])
        table.add(f"peak RSS at the first event, {gadget} / {tool} (warm cache)",
                  f"{rss:.1f} MiB", f"{c_rss:.1f} MiB" if c_rss == c_rss else "-",
                  ratio_of(rss, c_rss), GOALS["rss"], f"median of {repeat}")
        # Ctrl-C to exit: both detach each tracepoint's link, which the kernel makes wait
        # for RCU grace periods; the rest is the tool's own
        gone, c_gone = median([r.exit for r in runs["warm"]]), median([r.exit for r in runs["c"]])
        table.add(f"SIGINT to exit, {gadget} / {tool}", ms(gone), ms(c_gone),
                  ratio_of(gone, c_gone), None, f"median of {repeat}")


def open_rows(env: Env, table: Table, repeat: int, seconds: float) -> None:
    ours, theirs = pybpf_cmd(env, "trace_open"), c_cmd(env, "opensnoop")
    columns = pybpf_cmd(env, "trace_open", "columns")
    run_tool(env, ours, "open")  # warms the cache: a cold start's peak RSS is not the run's
    runs = alternate(repeat, {
        "json": lambda: run_tool(env, ours, "open", 20000, seconds / 2, storm=True),
        "columns": lambda: run_tool(env, columns, "open", 20000, seconds / 2, storm=True),
        "c": (lambda: run_tool(env, theirs, "open", 20000, seconds / 2, storm=True))
        if theirs else None,
    })
    rss = max((r.rss for r in runs["json"]), default=float("nan"))
    c_rss = max((r.rss for r in runs["c"]), default=float("nan"))
    table.add("peak RSS, trace_open / opensnoop at 20k opens/s", f"{rss:.1f} MiB",
              f"{c_rss:.1f} MiB", ratio_of(rss, c_rss), GOALS["rss"])
    cpu = median([r.cpu_per_event_us for r in runs["json"]])
    cpu_cols = median([r.cpu_per_event_us for r in runs["columns"]])
    c_cpu = median([r.cpu_per_event_us for r in runs["c"]])
    table.add("CPU per event, 20k opens/s (-o json)", f"{cpu:.1f} us", f"{c_cpu:.1f} us",
              ratio_of(cpu, c_cpu), GOALS["cpu"], _received_note(runs["json"]))
    table.add("CPU per event, 20k opens/s (-o columns)", f"{cpu_cols:.1f} us", f"{c_cpu:.1f} us",
              ratio_of(cpu_cols, c_cpu), GOALS["cpu"], _received_note(runs["columns"]))
    for rate in (50000, 100000):
        runs = alternate(repeat, {
            "json": lambda: run_tool(env, ours, "open", rate, seconds, storm=True),
            "c": (lambda: run_tool(env, theirs, "open", rate, seconds, storm=True))
            if theirs else None,
        })
        table.add(f"received at {rate // 1000}k opens/s for {seconds:g} s",
                  _received(runs["json"]), _received(runs["c"]), None,
                  None, _received_note(runs["json"]) + "; C: " + _achieved(runs["c"]))


def _received(runs: List[Run]) -> str:
    if not runs:
        return "-"
    return " / ".join(f"{100 * r.received / r.done:.1f}%" for r in runs if r.done)


def _achieved(runs: List[Run]) -> str:
    return " / ".join(f"{r.done / r.seconds / 1000:.1f}k/s done" for r in runs if r.seconds)


def _received_note(runs: List[Run]) -> str:
    """For pybpf: whether received + reported lost = operations done, per run."""
    parts = []
    for r in runs:
        balance = "=" if r.received + r.lost == r.done else "!="
        parts.append(f"{r.received}+{r.lost} lost {balance} {r.done} done "
                     f"({r.done / r.seconds / 1000:.1f}k/s)")
    return "; ".join(parts)


def exec_rows(env: Env, table: Table, repeat: int, seconds: float) -> None:
    ours, theirs = pybpf_cmd(env, "trace_exec"), c_cmd(env, "execsnoop")
    run_tool(env, ours, "exec")  # warms the cache (as for the open rows)
    runs = alternate(repeat, {
        "json": lambda: run_tool(env, ours, "exec", 1000, seconds, storm=True),
        "c": (lambda: run_tool(env, theirs, "exec", 1000, seconds, storm=True))
        if theirs else None,
    })
    cpu = median([r.cpu_per_event_us for r in runs["json"]])
    c_cpu = median([r.cpu_per_event_us for r in runs["c"]])
    table.add("CPU per event, 1000 execs/s", f"{cpu:.1f} us", f"{c_cpu:.1f} us",
              ratio_of(cpu, c_cpu), GOALS["cpu"], _received_note(runs["json"]))
    rss = max((r.rss for r in runs["json"]), default=float("nan"))
    c_rss = max((r.rss for r in runs["c"]), default=float("nan"))
    table.add("peak RSS, trace_exec / execsnoop at 1000 execs/s", f"{rss:.1f} MiB",
              f"{c_rss:.1f} MiB", ratio_of(rss, c_rss), GOALS["rss"])


def object_path(name: str) -> Path:
    found = sorted((ROOT / "bpf" / "objects").rglob(f"{name}.bpf.o"))
    if not found:
        raise SystemExit(f"no {name}.bpf.o under bpf/objects")
    return found[0]


def timed_load(cmd: Sequence[str], pindir: str, env: Dict[str, str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(["taskset", "-c", TOOL_CPU, *cmd], capture_output=True, text=True,
                          env=env, cwd=tempfile.gettempdir())
    took = time.perf_counter() - t
    if os.path.isdir(pindir):
        for name in os.listdir(pindir):
            os.unlink(os.path.join(pindir, name))
        os.rmdir(pindir)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {done.stderr.strip()[-300:]}")
    return took


def load_rows(env: Env, table: Table, repeat: int) -> None:
    obj = str(object_path("trace_exec"))
    pindir = f"/sys/fs/bpf/pybpf-bench-{uuid.uuid4().hex[:10]}"
    tool_env = dict(os.environ, XDG_CACHE_HOME=env.cache)
    ours = [env.pybpf, "load", obj, pindir]
    theirs = ["bpftool", "prog", "loadall", obj, pindir] if shutil.which("bpftool") else None
    timed_load(ours, pindir, tool_env)  # warm cache
    runs = alternate(repeat * 2, {
        "ours": lambda: timed_load(ours, pindir, tool_env),
        "c": (lambda: timed_load(theirs, pindir, tool_env)) if theirs else None,
    })
    a, b = median(runs["ours"]), median(runs["c"])
    table.add("whole process `pybpf load trace_exec.bpf.o` / `bpftool prog loadall`",
              ms(a), ms(b), ratio_of(a, b), GOALS["load"], f"median of {repeat * 2}")


def pyz_rows(env: Env, table: Table, repeat: int, work: Path) -> None:
    pyz = work / "pybpf.pyz"
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_pyz.py"), "-o", str(pyz)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        table.add("zipapp pybpf.pyz", f"build failed: {last}", "-")
        return
    peer = env.c_tools.get("opensnoop")
    size, c_size = pyz.stat().st_size / 2**20, (os.path.getsize(peer) / 2**20 if peer else 0.0)
    table.add("zipapp size: pybpf.pyz (every gadget, pyelftools, construct) / opensnoop binary",
              f"{size:.2f} MiB", f"{c_size:.2f} MiB" if peer else "-", ratio_of(size, c_size))
    # run by an interpreter with nothing installed, as on a host the zipapp is copied to:
    # the one running this bench may start with site-packages' .pth files (pyenv's global
    # one: `-c pass` in 80 ms against 20 ms in a bare venv), which are not the zipapp's cost
    bare = work / "bare"
    if not (bare / "bin" / "python3").exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    ours = [str(bare / "bin" / "python3"), str(pyz), "run", "trace_open", "-o", "json",
            "--pid", "{PID}"]
    theirs = c_cmd(env, "opensnoop", line_buffered=True)
    run_tool(env, ours, "open")  # warms the caches
    runs = alternate(repeat, {
        "pyz": lambda: run_tool(env, ours, "open"),
        "c": (lambda: run_tool(env, theirs, "open")) if theirs else None,
    })
    a, b = median([r.launch for r in runs["pyz"]]), median([r.launch for r in runs["c"]])
    table.add("launch to first event, python3 pybpf.pyz run trace_open / opensnoop (warm cache)",
              ms(a), ms(b), ratio_of(a, b), GOALS["launch"], f"median of {repeat}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each tool per row")
    ap.add_argument("--seconds", type=float, default=10.0, help="storm length (20k: half)")
    ap.add_argument("--rows", default="launch,open,exec,load,pyz")
    ap.add_argument("--python", help="interpreter of an installed pybpf (default: a venv "
                                     "with this tree installed)")
    ap.add_argument("--anchors", help="directory with build_anchors.sh and bcc-libbpf-tools")
    ap.add_argument("--work", default=f"/tmp/pybpf-bench-storm-{os.getuid()}",
                    help="where the venv, tools and caches are kept between runs")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    work = Path(args.work)
    work.mkdir(mode=0o700, exist_ok=True)
    cache = work / "cache"
    cache.mkdir(mode=0o700, exist_ok=True)
    env = Env(build_peers(work), str(cache), installed_pybpf(work, args.python))
    env.c_tools = build_c_tools(work, find_anchors(args.anchors))
    print(f"pybpf: {env.pybpf}; C tools: {', '.join(env.c_tools) or 'none'}; "
          f"tool on CPU {TOOL_CPU}, load on CPU {LOAD_CPU}; {args.repeat} alternating runs each; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    table = Table()
    rows = set(args.rows.split(","))
    if "launch" in rows:
        launch_rows(env, table, args.repeat)
    if "open" in rows:
        open_rows(env, table, args.repeat, args.seconds)
    if "exec" in rows:
        exec_rows(env, table, args.repeat, args.seconds / 2)
    if "load" in rows:
        load_rows(env, table, args.repeat)
    if "pyz" in rows:
        pyz_rows(env, table, args.repeat, work)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    table.show()
    return 0


if __name__ == "__main__":
    sys.exit(main())
