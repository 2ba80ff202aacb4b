"""`pybpf run` offers the full command line of the top, profile and snapshot
gadgets (their module's main): -o tree, -o folded, live tables and json rows
per interval, histograms, and one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
TREE_MARKS = "│├└─ {"


def _pybpf_run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pybpf", "run", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _tree(text: str) -> List[Tuple[int, str]]:
    """(depth, label) of every line of a `-o tree` output."""
    out = []
    for line in text.splitlines():
        label = line.lstrip(TREE_MARKS)
        out.append(((len(line) - len(label)) // 3, label))
    return out


def _children_of(tree: List[Tuple[int, str]], pid: int) -> List[str]:
    """Labels of the direct children of the process ``comm[pid]`` in a tree."""
    for i, (depth, label) in enumerate(tree):
        if label.split(" ")[0].endswith(f"[{pid}]"):
            kids = []
            for d, lab in tree[i + 1:]:
                if d <= depth:
                    break
                if d == depth + 1:
                    kids.append(lab)
            return kids
    raise AssertionError(f"pid {pid} not in the tree")


def test_snapshot_process_tree_shows_this_process_under_its_parent():
    proc = subprocess.Popen([sys.executable, "-m", "pybpf", "run", "snapshot_process", "-o",
                             "tree"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    tree = _tree(out)
    assert any(lab.split(" ")[0].endswith(f"[{os.getpid()}]")
               for lab in _children_of(tree, os.getppid()))
    assert any(lab.split(" ")[0].endswith(f"[{proc.pid}]")
               for lab in _children_of(tree, os.getpid()))


def test_top_file_json_rows_per_interval(tmp_path):
    target = tmp_path / "counted"
    target.write_bytes(b"x" * 4096)
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            target.read_bytes()
            stop.wait(0.05)

    t = threading.Thread(target=reader)
    t.start()
    try:
        res = _pybpf_run("top_file", "-o", "json", "--interval", "0.5", "--count", "2",
                         "--max-rows", "0", "--pid", str(os.getpid()))
    finally:
        stop.set()
        t.join()
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    ours = [r for r in rows if r["path"] == str(target)]
    assert ours and all(r["proc"]["pid"] == os.getpid() for r in ours)
    assert sum(r["read_bytes"] for r in ours) >= 4096
    assert len({r["timestamp"] for r in rows}) <= 2


def test_top_file_timeout_columns_table():
    res = _pybpf_run("top_file", "--timeout", "2", "--interval", "0.5", "--max-rows", "2")
    assert res.returncode == 0, res.stderr
    headers = [line for line in res.stdout.splitlines() if line.startswith("top_file ")]
    assert headers and "interval 0.5s" in headers[0]
    assert "R_BYTES" in res.stdout


def test_profile_cpu_folded():
    stop = threading.Event()
    t = threading.Thread(target=lambda: [sum(range(1000)) for _ in iter(stop.is_set, True)])
    t.start()
    try:
        res = _pybpf_run("profile_cpu", "-o", "folded", "--timeout", "2",
                         "--pid", str(os.getpid()))
    finally:
        stop.set()
        t.join()
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines
    for line in lines:
        stack, count = line.rsplit(" ", 1)
        assert int(count) > 0 and stack.split(";")[0]


def test_profile_tcprtt_histogram_or_empty_line():
    res = _pybpf_run("profile_tcprtt", "--timeout", "1")
    assert res.returncode == 0, res.stderr
    assert ("distribution" in res.stdout
            or "no TCP RTT samples: the histogram is empty" in res.stdout)


@pytest.mark.parametrize("args, says", [
    (["snapshot_process", "-o", "bogus"], "invalid choice: 'bogus'"),
    (["top_file", "--interval", "x"], "argument --interval: 'x': expected a duration"),
    (["top_file", "--fields", "nope"], "unknown field 'nope'"),
    (["top_file", "--sort", "nope"], "unknown field 'nope'"),
    (["profile_cpu", "--filter", "bad"], "bad filter"),
    (["snapshot_socket", "-c", "pybpf-no-such-container"], "pybpf-no-such-container"),
    (["profile_tcprtt", "--by", "nowhere"], "expected local, remote or none"),
    (["trace_exec", "--fields", "nope"], "unknown field 'nope'"),
    (["top_fil"], "unknown gadget 'top_fil'"),
])
def test_bad_input_is_one_line(args, says):
    res = _pybpf_run(*args, "--timeout", "1")
    assert res.returncode != 0
    assert res.stdout == ""
    assert len(res.stderr.splitlines()) == 1 and says in res.stderr, res.stderr
    assert res.stderr.startswith("pybpf run")


def test_help_shows_each_gadgets_options():
    overview = _pybpf_run("--help")
    assert overview.returncode == 0
    assert "snapshot_process" in overview.stdout and "trace_exec" in overview.stdout
    tree = _pybpf_run("snapshot_process", "--help")
    assert tree.returncode == 0 and "tree" in tree.stdout and "--threads" in tree.stdout
    folded = _pybpf_run("profile_cpu", "--help")
    assert "folded" in folded.stdout and "--frequency" in folded.stdout
    assert "--ring-size" not in folded.stdout
    top = _pybpf_run("top_file", "--help")
    assert "--interval" in top.stdout and "--max-rows" in top.stdout
    trace = _pybpf_run("trace_exec", "--help")
    assert "--ring-size" in trace.stdout and "tree" not in trace.stdout
