"""trace_oomkill against the kernel: a process allocating past its memory
cgroup's limit is killed; the event names the victim."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from test_gadget_trace_support import collect

from pybpf_gadgets import trace_oomkill

HOG = "import sys; b = []\nwhile True: b.append(bytearray(1 << 20))"


def memory_cgroup(name: str) -> Path:
    """A memory cgroup limited to 64 MiB (v2 if it has the controller, else v1)."""
    from pybpf_gadgets.common.containers import cgroup2_root

    v2 = cgroup2_root()
    if v2 is not None and "memory" in (v2 / "cgroup.controllers").read_text().split():
        if "memory" not in (v2 / "cgroup.subtree_control").read_text().split():
            (v2 / "cgroup.subtree_control").write_text("+memory")
        path = v2 / name
        path.mkdir()
        (path / "memory.max").write_text(str(64 << 20))
        if (path / "memory.swap.max").exists():
            (path / "memory.swap.max").write_text("0")  # no escape to swap
        return path
    v1 = Path("/sys/fs/cgroup/memory")
    if not v1.is_dir():
        pytest.skip("no memory cgroup controller")
    path = v1 / name
    path.mkdir()
    (path / "memory.limit_in_bytes").write_text(str(64 << 20))
    return path


def test_oom_kill_victim():
    cg = memory_cgroup(f"pybpfoom{uuid.uuid4().hex[:8]}")
    victims = []

    def join():
        with open(cg / "cgroup.procs", "w") as fh:
            fh.write(str(os.getpid()))

    def trigger():
        p = subprocess.Popen([sys.executable, "-c", HOG], preexec_fn=join,
                             stderr=subprocess.DEVNULL)
        victims.append(p.pid)
        p.wait(timeout=60)

    try:
        with trace_oomkill.run() as run:
            events = collect(run, trigger, lambda e: e["victim"]["pid"] in victims, timeout=60)
    finally:
        cg.rmdir()
    e = events[0]
    assert e["victim"]["comm"].startswith("python")
    assert e["victim"]["mntns_id"] == os.stat("/proc/self/ns/mnt").st_ino
    assert e["victim"]["runtime"]["containerName"] == ""
    assert e["pages"]["rss"] > (32 << 20) // 4096
    assert e["pages"]["total_vm"] >= e["pages"]["rss"]
    assert e["proc"]["pid"] in victims  # the hog itself ran into the limit
