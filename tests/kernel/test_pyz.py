"""pybpf.pyz (tools/build_pyz.py) runs a gadget with nothing but an
interpreter: isolated from every installed package (-I -S), under the oldest
and newest supported Pythons and Debian's own."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ECHO = "/bin/echo"
INTERPRETERS = ["/root/.pyenv/versions/3.9.18/bin/python3",
                "/root/.pyenv/versions/3.13.0/bin/python3", "/usr/bin/python3"]

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


@pytest.fixture(scope="module")
def pyz(tmp_path_factory):
    path = tmp_path_factory.mktemp("pyz") / "pybpf.pyz"
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_pyz.py"), "-o", str(path)],
                   check=True, capture_output=True, timeout=600)
    return path


def test_the_archive_holds_what_the_wheel_does(pyz):
    names = zipfile.ZipFile(pyz).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {"__main__.py", "pybpf", "pybpf_gadgets", "elftools", "construct"} <= tops
    assert "gadgets" not in tops
    assert "pybpf/objects/trace_exec.bpf.o" in names
    assert "pybpf/objects/minimal.bpf.o" not in names  # a bpf/tests fixture
    assert any(n.endswith(".egg-info/entry_points.txt") for n in names)


def _events(interpreter: str, pyz: Path, tag: str) -> list:
    """trace_exec from the archive, isolated; execs of ``tag`` until one is seen."""
    proc = subprocess.Popen([interpreter, "-I", "-S", str(pyz), "run", "trace_exec", "-o",
                             "json", "--comm", "echo", "--timeout", "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd="/", env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                     daemon=True).start()
    found = []
    deadline = time.monotonic() + 90
    try:
        while not found and time.monotonic() < deadline and proc.poll() is None:
            subprocess.run([ECHO, tag], stdout=subprocess.DEVNULL)
            try:
                while True:
                    line = lines.get(timeout=0.5)
                    if tag in line:
                        found.append(json.loads(line))
            except queue.Empty:
                pass
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return found


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_trace_exec_from_the_archive(pyz, interpreter):
    if not os.path.exists(interpreter):
        pytest.skip(f"{interpreter} is not installed")
    tag = f"pybpf-pyz-{uuid.uuid4().hex[:8]}"
    events = _events(interpreter, pyz, tag)
    assert events, f"no exec of {tag} seen"
    assert events[0]["args"] == [ECHO, tag] and events[0]["proc"]["comm"] == "echo"


def test_explain_a_gadget_whose_object_is_inside_the_archive(pyz):
    """The gadget's object is a member of the zip (read as bytes), not a file."""
    got = subprocess.run(["/usr/bin/python3", "-I", "-S", str(pyz), "explain", "trace_exec",
                          "-o", "json"], capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    assert "trace_execve_enter" in {r["program"] for r in json.loads(got.stdout)}
