"""TC attachments do not outlive a process that never calls close().

Each case runs a script in a network namespace of its own (a veth pair with a
unique namespace name): it attaches the TC program and then exits normally,
or is killed with SIGTERM, without closing anything. Afterwards `tc` must show
no clsact qdisc and no filter, and a tcx link must be gone from the kernel.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pybpf import arch_object

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys, time
import pybpf
from pybpf.links import attach_tc
coll = pybpf.load(sys.argv[1])
link = attach_tc(coll.programs["on_tc"], "d0", "ingress", mode=sys.argv[2])
info = link.info.id if link.has_bpf_link else None
print(json.dumps({"link_id": info}), flush=True)
if sys.argv[3] == "wait":
    time.sleep(60)
"""


def obj() -> Path:
    return arch_object(ROOT / "bpf" / "objects" / "links_kinds.bpf.o")


@pytest.fixture
def netns():
    name = f"pybpf_tcx_{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "d0", "type", "veth", "peer", "name",
                        "p0"], check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "d0", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def tc(netns: str, *args: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "tc", *args], capture_output=True,
                          text=True, check=True).stdout


def run_script(netns: str, mode: str, end: str) -> dict:
    proc = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", SCRIPT,
                             str(obj()), mode, "wait" if end == "sigterm" else "exit"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first, proc.stderr.read()
        shown = json.loads(first)
        if end == "sigterm":
            assert "clsact" in tc(netns, "qdisc", "show", "dev", "d0") or mode != "clsact"
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if end == "sigterm":
        assert proc.returncode == -signal.SIGTERM  # still dies of the signal
    else:
        assert proc.returncode == 0, proc.stderr.read()
    return shown


@pytest.mark.parametrize("end", ["exit", "sigterm"])
def test_clsact_filter_and_qdisc_removed_without_close(netns, end):
    run_script(netns, "clsact", end)
    assert "clsact" not in tc(netns, "qdisc", "show", "dev", "d0")
    assert tc(netns, "filter", "show", "dev", "d0", "ingress").strip() == ""


@pytest.mark.parametrize("end", ["exit", "sigterm"])
def test_tcx_link_goes_with_the_process(netns, end):
    shown = run_script(netns, "auto", end)  # auto prefers tcx where the kernel has it
    assert shown["link_id"] is not None
    got = subprocess.run(["bpftool", "link", "show", "id", str(shown["link_id"])],
                         capture_output=True, text=True)
    assert got.returncode != 0  # no such link any more
    assert "clsact" not in tc(netns, "qdisc", "show", "dev", "d0")


def test_existing_sigterm_handler_is_left_alone(netns):
    """A program with its own SIGTERM handler keeps it; it exits normally, atexit cleans."""
    script = ("import signal, sys\n"
              "signal.signal(signal.SIGTERM, lambda *a: sys.exit(3))\n" + SCRIPT)
    proc = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", script,
                             str(obj()), "clsact", "wait"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "clsact" not in tc(netns, "qdisc", "show", "dev", "d0")
