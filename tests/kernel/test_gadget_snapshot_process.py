"""snapshot_process on the real kernel: a process in a stand-in container is
found with its mount namespace and container; threads and the tree form."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gadgets import snapshot_process

CGROUP2 = Path("/sys/fs/cgroup/unified")
ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.fixture
def standin(unique_name):
    """A stand-in container: own cgroup, private mount and pid namespaces, running sleep."""
    name = unique_name("ctr")
    cg = CGROUP2 / name
    cg.mkdir()
    shell = subprocess.Popen(
        ["sh", "-c", f"echo $$ > {cg}/cgroup.procs && exec unshare -m --propagation private "
                     f"-p -f --mount-proc sleep 300"])
    pid = 0
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kids = _children(shell.pid)
            if kids and Path(f"/proc/{kids[0]}/comm").read_text().strip() == "sleep":
                pid = kids[0]
                break
            time.sleep(0.05)
        assert pid, "the stand-in container did not start"
        yield name, pid
    finally:
        for victim in [pid] + _children(shell.pid):
            if victim:
                try:
                    os.kill(victim, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shell.wait(timeout=10)
        deadline = time.monotonic() + 10
        while True:
            try:
                cg.rmdir()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


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
    assert row["container"]["name"] == name
    # the filter is in the kernel: nothing outside the container's mount namespace
    assert rows and all(r["proc"]["mntns_id"] == mntns for r in rows)


def test_host_snapshot_has_us_and_our_parent():
    rows = snapshot_process.run()
    me = [r for r in rows if r["proc"]["pid"] == os.getpid()]
    assert len(me) == 1
    assert me[0]["proc"]["ppid"] == os.getppid()
    assert me[0]["proc"]["uid"] == os.getuid()
    assert me[0]["proc"]["tid"] == os.getpid()  # one row per process by default
    assert me[0]["container"]["name"] == ""


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
                "container": {"name": ""}}
    lines = snapshot_process.tree_lines([row(1, 0, "init"), row(10, 1, "sh"),
                                         row(11, 10, "sleep"), row(12, 1, "cron")])
    assert lines == ["init[1]", "├─ sh[10]", "│  └─ sleep[11]", "└─ cron[12]"]


def test_command_line_json_and_tree(standin):
    name, pid = standin
    cmd = [sys.executable, "-m", "gadgets.snapshot_process", "-c", name]
    out = subprocess.run(cmd + ["-o", "json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    # the container holds sleep and the unshare that forked it, nothing else
    assert pid in [r["proc"]["pid"] for r in rows] and len(rows) <= 2
    assert {r["container"]["name"] for r in rows} == {name}
    tree = subprocess.run(cmd + ["-o", "tree"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert f"sleep[{pid}] ({name})" in tree
    cols = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True).stdout.splitlines()
    assert "PID" in cols[0] and "MNTNS" in cols[0].upper()
    assert any(str(pid) in line and name in line for line in cols[1:])
