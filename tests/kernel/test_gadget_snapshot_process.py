"""snapshot_process on the real kernel: a process in a stand-in container is
found with its mount namespace and container; threads and the tree form."""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pybpf_gadgets import snapshot_process

CGROUP2 = Path("/sys/fs/cgroup/unified")
ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class StandIn:
    """A stand-in container: its own cgroup, private mount and pid namespaces.

    ``start(argv)`` runs ``argv`` as the container's pid 1 and returns its
    host pid; ``close()`` kills everything and removes the cgroup.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.cgroup = CGROUP2 / name
        self.cgroup.mkdir()
        self.shell: "subprocess.Popen | None" = None
        self.pid = 0

    def start(self, argv: list) -> int:
        cmd = " ".join(shlex.quote(a) for a in argv)
        self.shell = subprocess.Popen(
            ["sh", "-c", f"echo $$ > {self.cgroup}/cgroup.procs && exec unshare -m "
                         f"--propagation private -p -f --mount-proc {cmd}"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kids = _children(self.shell.pid)
            if kids:
                try:
                    exe = os.readlink(f"/proc/{kids[0]}/exe")
                except OSError:
                    exe = ""
                if exe and "unshare" not in exe:
                    self.pid = kids[0]
                    return self.pid
            time.sleep(0.02)
        raise AssertionError("the stand-in container did not start")

    def close(self) -> None:
        if self.shell is not None:
            for victim in [self.pid] + _children(self.shell.pid):
                if victim:
                    try:
                        os.kill(victim, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            self.shell.wait(timeout=10)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.cgroup.rmdir()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


@pytest.fixture
def make_standin(unique_name):
    """Factory of stand-in containers, all removed at the end of the test."""
    made = []

    def make() -> StandIn:
        made.append(StandIn(unique_name("ctr")))
        return made[-1]
    yield make
    for s in made:
        s.close()


@pytest.fixture
def standin(make_standin):
    """A stand-in container running sleep: (name, host pid of sleep)."""
    s = make_standin()
    pid = s.start(["sleep", "300"])
    return s.name, pid


def test_process_in_container_found_with_mntns_and_container(standin):
    name, pid = standin
    rows = snapshot_process.run(container=name)
    mntns = os.stat(f"/proc/{pid}/ns/mnt").st_ino
    assert mntns != os.stat("/proc/self/ns/mnt").st_ino
    mine = [r for r in rows if r["proc"]["pid"] == pid]
    assert len(mine) == 1
    row = mine[0]
    assert row["proc"]["comm"] == "sleep"
    assert row["proc"]["mntns_id"] == mntns
    assert row["runtime"]["containerName"] == name
    # the filter is in the kernel: nothing outside the container's mount namespace
    assert rows and all(r["proc"]["mntns_id"] == mntns for r in rows)


@pytest.mark.vm
def test_host_snapshot_has_us_and_our_parent():
    ok, why = snapshot_process.GADGET.can_run()
    if not ok:
        pytest.skip(why)
    rows = snapshot_process.run()
    me = [r for r in rows if r["proc"]["pid"] == os.getpid()]
    assert len(me) == 1
    assert me[0]["proc"]["ppid"] == os.getppid()
    assert me[0]["proc"]["uid"] == os.getuid()
    assert me[0]["proc"]["tid"] == os.getpid()  # one row per process by default
    assert me[0]["runtime"]["containerName"] == ""


def test_threads_and_pid_filter():
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        rows = snapshot_process.run(pid=os.getpid(), threads=True)
    finally:
        stop.set()
        worker.join()
    assert {r["proc"]["pid"] for r in rows} == {os.getpid()}
    tids = {r["proc"]["tid"] for r in rows}
    assert os.getpid() in tids and worker.native_id in tids


def test_tree_lines_nest_children():
    def row(pid, ppid, comm, tid=None):
        return {"proc": {"pid": pid, "tid": tid or pid, "ppid": ppid, "comm": comm},
                "runtime": {"containerName": ""}}
    lines = snapshot_process.tree_lines([row(1, 0, "init"), row(10, 1, "sh"),
                                         row(11, 10, "sleep"), row(12, 1, "cron")])
    assert lines == ["init[1]", "├─ sh[10]", "│  └─ sleep[11]", "└─ cron[12]"]


def test_command_line_json_and_tree(standin):
    name, pid = standin
    cmd = [sys.executable, "-m", "pybpf", "run", "snapshot_process", "-c", name]
    out = subprocess.run(cmd + ["-o", "json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    # the container holds sleep and the unshare that forked it, nothing else
    assert pid in [r["proc"]["pid"] for r in rows] and len(rows) <= 2
    assert {r["runtime"]["containerName"] for r in rows} == {name}
    tree = subprocess.run(cmd + ["-o", "tree"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert f"sleep[{pid}] ({name})" in tree
    cols = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True).stdout.splitlines()
    assert "PID" in cols[0] and "MNTNS" in cols[0].upper()
    assert any(str(pid) in line and name in line for line in cols[1:])


def test_pybpf_run_takes_the_snapshot(standin):
    name, pid = standin
    out = subprocess.run([sys.executable, "-m", "pybpf", "run", "snapshot_process", "-o", "json",
                          "-c", name], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert pid in [r["proc"]["pid"] for r in rows]
    assert {r["runtime"]["containerName"] for r in rows} == {name}
