"""Helpers for the gadget kernel tests (no tests here): a stand-in container
(private mount and pid namespaces in its own cgroup v2 directory, as
KERNEL.md describes), a way to run commands inside it, and a runner that
iterates a gadget in a thread while a trigger repeats until seen."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, List, Optional

from pybpf_gadgets.common.containers import cgroup2_root

ROOT = Path(__file__).resolve().parents[2]


def require(gadget) -> None:
    """Skip the calling test when the gadget cannot run on this kernel (vmtests)."""
    import pytest

    ok, why = gadget.can_run()
    if not ok:
        pytest.skip(f"{gadget.name}: {why}")


class StandIn:
    """A container without a runtime: `sleep` as pid 1 of new mount and pid
    namespaces, in cgroup <cgroup2>/<name>."""

    def __init__(self, prefix: str = "pybpfc") -> None:
        self.name = f"{prefix}{uuid.uuid4().hex[:8]}"
        root = cgroup2_root()
        assert root is not None, "no cgroup2 hierarchy"
        self.cgroup = root / self.name
        self.cgroup.mkdir()
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "-p", "-f", "--mount-proc",
             "sleep", "infinity"], preexec_fn=self._join)
        self.init_pid = self._child_of(self.proc.pid)
        self.mntns = os.stat(f"/proc/{self.init_pid}/ns/mnt").st_ino

    def _join(self) -> None:
        with open(self.cgroup / "cgroup.procs", "w") as fh:
            fh.write(str(os.getpid()))

    @staticmethod
    def _child_of(pid: int, timeout: float = 5.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                kids = []
            if kids:
                child = int(kids[0])
                # wait until the child runs sleep (namespaces set up)
                try:
                    if Path(f"/proc/{child}/comm").read_text().strip() == "sleep":
                        return child
                except OSError:
                    pass
            time.sleep(0.02)
        raise RuntimeError("stand-in container did not start")

    def run(self, argv: List[str], **kw) -> subprocess.CompletedProcess:
        """Run a command inside the container (its cgroup and namespaces)."""
        return subprocess.run(["nsenter", "-t", str(self.init_pid), "-m", "-p", "--", *argv],
                              preexec_fn=self._join, **kw)

    def close(self) -> None:
        try:
            os.kill(self.init_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.kill()
        self.proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                self.cgroup.rmdir()
                return
            except OSError:
                time.sleep(0.05)

    def __enter__(self) -> "StandIn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def collect(run, trigger: Callable[[], None], match: Callable[[dict], bool],
            want: int = 1, timeout: float = 60.0, settle: float = 0.0) -> List[dict]:
    """Iterate ``run`` (a started gadget Session) in a thread, call ``trigger``
    repeatedly until ``want`` matching events arrived; return those events.
    With ``settle`` > 0, keep collecting that long after the last trigger."""
    seen: "queue.Queue[dict]" = queue.Queue()

    def reader() -> None:
        for event in run:
            if match(event):
                seen.put(event)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    found: List[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < want and time.monotonic() < deadline:
            trigger()
            try:
                while True:
                    found.append(seen.get(timeout=0.3))
            except queue.Empty:
                pass
        if settle:
            end = time.monotonic() + settle
            while time.monotonic() < end:
                try:
                    found.append(seen.get(timeout=0.1))
                except queue.Empty:
                    pass
    finally:
        run.stop()
        thread.join(timeout=5)
    return found


class CLIRun:
    """`python -m pybpf run ...` in a subprocess, stdout lines in a queue."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "pybpf", "run", *args],
                                     cwd=str(ROOT), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, trigger: Callable[[], None], match: Callable[[str], bool],
                 timeout: float = 90.0) -> Optional[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            trigger()
            try:
                while True:
                    line = self.lines.get(timeout=0.3)
                    if match(line):
                        return line
            except queue.Empty:
                pass
        return None

    def stop(self) -> tuple:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._thread.join(timeout=5)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        return self.proc.returncode, err
