"""Run pytest on several kernels: fetch each, boot up to ``jobs`` VMs at a time,
retry a VM that never reports, and collect one KernelResult per kernel."""
from __future__ import annotations

import re
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from . import collect, kernels, userland, vm
from .results import Counts, KernelResult

CHECKOUT = Path(__file__).resolve().parent.parent
TAIL_LINES = 60
KEEP_RUNS_S = 3 * 86400  # run directories kept for a look after a failure


@dataclass
class Options:
    pytest_args: List[str]
    jobs: int = 2
    retries: int = 1
    boot_timeout: float = 120.0
    timeout: float = 1800.0
    memory: str = "2G"
    cpus: int = 1
    python: str = sys.executable
    refresh: bool = False
    verbose: bool = False
    keep: bool = False
    preselect: bool = True
    env: Dict[str, str] = field(default_factory=dict)
    arch: str = kernels.HOST_ARCH


_print_lock = threading.Lock()
_abort = threading.Event()  # set on Ctrl-C / SIGTERM: every VM stops, no retries


def say(text: str) -> None:
    with _print_lock:
        print(text, flush=True)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "kernel"


def run_one(kernel: kernels.Kernel, opts: Options, rundir: Path,
            files: Optional[List[str]], root: Optional[Path] = None) -> KernelResult:
    result = KernelResult(kernel.name, release=kernel.release)
    echo = (lambda line: say(f"[{kernel.name}] {line}")) if opts.verbose else None
    boot: Optional[vm.Boot] = None
    spent = 0.0
    for attempt in range(1, opts.retries + 2):
        result.attempts = attempt
        attempt_dir = rundir / f"boot{attempt}"
        python = opts.python if root is None else userland.GUEST_PYTHON
        boot = vm.boot(kernel, attempt_dir, CHECKOUT, opts.pytest_args, python=python,
                       memory=opts.memory, cpus=opts.cpus, boot_timeout=opts.boot_timeout,
                       timeout=opts.timeout, files=files, env=opts.env, echo=echo,
                       abort=_abort, root=root)
        spent += boot.total_s
        if not boot.never_started or attempt > opts.retries:
            break
        say(f"[{kernel.name}] boot {attempt} never reported ({boot.detail}); retrying")
    assert boot is not None
    result.status = boot.status
    result.detail = boot.detail
    result.release = boot.release or kernel.release
    result.boot_s, result.run_s, result.total_s = boot.boot_s, boot.run_s, spent
    result.counts = Counts.from_junit(attempt_dir / "share" / "junit.xml")
    result.logs = attempt_dir
    if boot.status == "failed" and result.counts is None:
        result.detail = f"pytest exited {boot.exit_code} without a junit report"
    return result


def _report(result: KernelResult, boot_lines: List[str], opts: Options) -> None:
    c = result.counts
    counts = (f"{c.passed} passed, {c.failed + c.errors} failed, {c.skipped} skipped"
              if c else "no counts")
    times = (f"boot {result.boot_s:.1f} s" if result.boot_s is not None else "never booted")
    if result.run_s is not None:
        times += f", run {result.run_s:.1f} s"
    say(f"[{result.name}] {result.status}: {counts}; {times}"
        + (f" ({result.detail})" if result.detail else ""))
    if not opts.verbose:
        # Which abilities this kernel lacks, in the tests' own words.
        for line in boot_lines:
            if line.startswith("SKIPPED"):
                say(f"[{result.name}]   {line}")
    if not result.ok and not opts.verbose:
        while boot_lines and not boot_lines[-1].strip():
            boot_lines = boot_lines[:-1]
        tail = boot_lines[-TAIL_LINES:]
        if tail:
            say(f"[{result.name}] last {len(tail)} lines of guest output:")
            for line in tail:
                say(f"[{result.name}]   {line}")
        console = result.logs / "console.log" if result.logs else None
        if console and console.exists() and (result.boot_s is None
                                             or result.status == "crashed"):
            for line in console.read_text(errors="replace").splitlines()[-40:]:
                say(f"[{result.name}] console: {line}")
    if result.logs and (opts.keep or not result.ok):
        say(f"[{result.name}] logs: {result.logs}")


def preselect(opts: Options) -> Optional[List[str]]:
    """Files holding the selected tests per the host's collection; None: let guests collect."""
    started = time.monotonic()
    try:
        files, count = collect.selected_files(opts.python, CHECKOUT, opts.pytest_args)
    except collect.CollectError as exc:
        say(f"host collection failed, guests collect everything themselves:\n{exc}")
        return None
    say(f"host collection: {count} tests in {len(files)} files "
        f"({time.monotonic() - started:.1f} s)")
    return files


def run(names: List[str], opts: Options) -> List[KernelResult]:
    results: List[Optional[KernelResult]] = [None] * len(names)
    files = preselect(opts) if opts.preselect else None
    if files == []:
        say("no test selected: nothing to run")
        return [KernelResult(name, status="no-tests") for name in names]
    root: Optional[Path] = None
    if opts.arch != kernels.HOST_ARCH:
        try:
            root = userland.get(opts.arch, log=say)
        except (userland.UserlandError, kernels.KernelError, OSError) as exc:
            say(f"cannot build the {opts.arch} userland: {exc}")
            return [KernelResult(name, status="fetch-failed", detail=str(exc)) for name in names]
    ready: List[tuple] = []
    for i, name in enumerate(names):
        started = time.monotonic()
        try:
            kernel = kernels.get(name, refresh=opts.refresh, log=say, arch=opts.arch)
        except (kernels.KernelError, OSError) as exc:
            results[i] = KernelResult(name, status="fetch-failed", detail=str(exc),
                                      total_s=time.monotonic() - started)
            say(f"[{name}] cannot prepare kernel: {exc}")
            continue
        ready.append((i, kernel))

    runs_root = kernels.cache_root() / "runs"
    runs_root.mkdir(parents=True, exist_ok=True)
    for old in runs_root.iterdir():
        if time.time() - old.stat().st_mtime > KEEP_RUNS_S:
            shutil.rmtree(old, ignore_errors=True)

    def job(item: tuple) -> None:
        i, kernel = item
        rundir = runs_root / (f"{_slug(kernel.name)}-{kernel.arch}-"
                              f"{time.strftime('%Y%m%dT%H%M%S')}-{i}")
        say(f"[{kernel.name}] booting {kernel.release}")
        try:
            result = run_one(kernel, opts, rundir, files, root)
            lines = _guest_lines(result)
        except (vm.VMError, OSError) as exc:
            result = KernelResult(kernel.name, release=kernel.release, status="vm-error",
                                  detail=str(exc), logs=rundir)
            lines = []
        _report(result, lines, opts)
        if result.ok and not opts.keep:
            shutil.rmtree(rundir, ignore_errors=True)
            result.logs = None
        results[i] = result

    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        try:
            list(pool.map(job, ready))
        except BaseException:
            _abort.set()
            raise
    return [r for r in results if r is not None]


def _guest_lines(result: KernelResult) -> List[str]:
    if result.logs is None:
        return []
    log = result.logs / "output.log"
    if not log.exists():
        return []
    return [line for line in log.read_text(errors="replace").splitlines()
            if not line.startswith(vm.MARK)]
