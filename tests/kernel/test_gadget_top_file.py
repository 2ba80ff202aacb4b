"""top_file on the real kernel: exact counts of a known workload on a unique
file, json rows per interval, and the live table in a real terminal (tmux)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_gadget_snapshot_process import make_standin  # noqa: F401 (fixture)

from pybpf_gadgets import top_file

ROOT = Path(__file__).resolve().parents[2]


def _rows_for(rows, path: Path):
    return [r for r in rows if r["file"] == path.name and r["proc"]["pid"] == os.getpid()]


@pytest.mark.vm
def test_counts_reads_and_writes_exactly(tmp_path, unique_name):
    ok, why = top_file.GADGET.can_run()
    if not ok:
        pytest.skip(why)
    path = tmp_path / unique_name("topfile")
    with top_file.run(pid=os.getpid()) as run:
        top_file.collect(run)  # start from an empty map
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            for _ in range(3):
                assert os.write(fd, b"x" * 1000) == 1000                   # write
            assert os.pwrite(fd, b"y" * 234, 3000) == 234                  # pwrite64
            assert os.writev(fd, [b"a" * 100, b"b" * 66]) == 166           # writev
            assert len(os.pread(fd, 500, 0)) == 500                        # pread64
            os.lseek(fd, 0, os.SEEK_SET)
            assert len(os.read(fd, 4096)) == 3234                          # read
            assert os.read(fd, 10) == b""                                  # read at EOF
        finally:
            os.close(fd)
        rows = _rows_for(top_file.collect(run), path)
    assert len(rows) == 1
    row = rows[0]
    assert (row["writes"], row["write_bytes"]) == (5, 3400)
    assert (row["reads"], row["read_bytes"]) == (3, 500 + 3234)
    assert row["type"] == "regular" and row["path"] == str(path)
    assert row["ino"] == os.stat(path).st_ino
    assert row["proc"]["comm"] and row["runtime"]["containerName"] == ""


def test_map_is_emptied_each_interval(tmp_path, unique_name):
    path = tmp_path / unique_name("topfile")
    with top_file.run(pid=os.getpid()) as run:
        path.write_bytes(b"z" * 777)
        first = _rows_for(top_file.collect(run), path)
        second = _rows_for(top_file.collect(run), path)
    assert sum(r["write_bytes"] for r in first) == 777
    assert second == []


def test_non_regular_files_only_with_all_files(unique_name):
    r, w = os.pipe()
    try:
        with top_file.run(pid=os.getpid()) as run:
            os.write(w, b"p" * 10)
            regular_only = top_file.collect(run)
        with top_file.run(pid=os.getpid(), all_files=True) as run:
            os.write(w, b"p" * 10)
            every = top_file.collect(run)
    finally:
        os.close(r)
        os.close(w)
    assert not [x for x in regular_only if x["type"] == "fifo"]
    assert [x for x in every if x["type"] == "fifo" and x["write_bytes"] == 10]


WRITER = """
import os, sys, time
path = sys.argv[1]
time.sleep(float(sys.argv[2]))
with open(path, "wb", buffering=0) as fh:
    for _ in range(int(sys.argv[3])):
        fh.write(b"w" * 4096)
        time.sleep(0.01)
"""


CANARY_WRITER = """
import os, sys, time
path, canary, go = sys.argv[1:4]
with open(canary, "wb", buffering=0) as fh:
    while not os.path.exists(go):   # until the gadget has shown it is counting
        fh.write(b"c")
        time.sleep(0.05)
with open(path, "wb", buffering=0) as fh:
    for _ in range(50):
        fh.write(b"w" * 4096)
        time.sleep(0.02)
"""


def test_command_line_json_one_object_per_row_per_interval(tmp_path, unique_name):
    path = tmp_path / unique_name("topfile")
    canary, go = tmp_path / "canary", tmp_path / "go"
    writer = subprocess.Popen([sys.executable, "-c", CANARY_WRITER, str(path), str(canary),
                               str(go)])
    gadget = subprocess.Popen(
        [sys.executable, "-m", "pybpf", "run", "top_file", "-o", "json", "--interval", "0.5",
         "--pid", str(writer.pid), "--max-rows", "5"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    rows = []
    try:
        for line in gadget.stdout:  # canary rows come every interval until go exists
            rows.append(json.loads(line))
            if rows[-1]["file"] == "canary":
                go.touch()
                break
        writer.wait(timeout=30)
        time.sleep(1.5)  # the last interval ends
    finally:
        writer.kill()
        writer.wait()
        gadget.terminate()
        rest, _ = gadget.communicate(timeout=30)
    rows += [json.loads(line) for line in rest.splitlines()]
    mine = [r for r in rows if r["file"] == path.name]
    assert sum(r["write_bytes"] for r in mine) == 50 * 4096
    assert sum(r["writes"] for r in mine) == 50
    assert len({r["timestamp"] for r in rows}) >= 2  # one object per row per interval
    assert all(r["proc"]["pid"] == writer.pid for r in rows)
    assert gadget.returncode == 0  # SIGTERM ends it cleanly


def _tmux(server: str, *args: str) -> str:
    """tmux on a private server socket: other tmux users on the machine do not interfere."""
    return subprocess.run(["tmux", "-L", server, *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
@pytest.mark.parametrize("key", ["q", "C-c"])
def test_live_table_in_a_terminal(tmp_path, unique_name, key):
    session = unique_name("pybpf")
    path = tmp_path / unique_name("topfile")
    marker = tmp_path / "exited"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "0", "2000"])
    cmd = (f"cd {ROOT} && {sys.executable} -m pybpf run top_file --interval 0.5 "
           f"--pid {writer.pid}; echo $? > {marker}; sleep 60")
    _tmux(session, "new-session", "-d", "-s", session, "-x", "180", "-y", "40", cmd)
    try:
        screens = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(screens) < 3:
            time.sleep(0.7)
            screen = _tmux(session, "capture-pane", "-p", "-t", session)
            if path.name in screen and (not screens or screen != screens[-1]):
                screens.append(screen)
        assert len(screens) >= 3, (writer.poll(), path.exists() and path.stat().st_size,
                                   _tmux(session, "capture-pane", "-p", "-t", session))
        for screen in screens:
            lines = screen.splitlines()
            # drawn in place: title on the first line, header on the second, rows below
            assert lines[0].startswith("top_file ") and "q to quit" in lines[0]
            assert "W_BYTES" in lines[1] and "PATH" in lines[1]
            assert sum("W_BYTES" in line for line in lines) == 1
            assert path.name in lines[2]
        assert len({s.splitlines()[0] for s in screens}) >= 2  # the title's time moves on
        _tmux(session, "send-keys", "-t", session, key)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (marker.exists() and marker.read_text()):
            time.sleep(0.1)  # the shell creates the file, then writes the status
        assert marker.read_text().strip() == "0"
        # the terminal was given back: main screen, no table left over
        assert "W_BYTES" not in _tmux(session, "capture-pane", "-p", "-t", session)
    finally:
        subprocess.run(["tmux", "-L", session, "kill-server"], capture_output=True)
        writer.kill()
        writer.wait()


LOOP_WRITER = """
import sys, time
with open(sys.argv[1], "wb", buffering=0) as fh:
    while True:
        fh.write(b"c" * 100)
        time.sleep(0.02)
"""


def test_container_filter_and_enrichment(tmp_path, unique_name, make_standin):
    inside, outside = tmp_path / unique_name("in"), tmp_path / unique_name("out")
    ctr = make_standin()
    pid = ctr.start([sys.executable, "-c", LOOP_WRITER, str(inside)])
    host = subprocess.Popen([sys.executable, "-c", LOOP_WRITER, str(outside)])
    try:
        with top_file.run(container=ctr.name) as run:
            rows = []
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and inside.name not in {r["file"] for r in rows}:
                time.sleep(0.5)
                rows += top_file.collect(run)
            time.sleep(0.5)
            rows += top_file.collect(run)
    finally:
        host.kill()
        host.wait()
    files = {r["file"] for r in rows}  # the writer's python may still read its modules
    assert inside.name in files and outside.name not in files
    assert {r["runtime"]["containerName"] for r in rows} == {ctr.name}
    assert {r["proc"]["pid"] for r in rows} == {pid}
    written = sum(r["write_bytes"] for r in rows if r["file"] == inside.name)
    assert written > 0 and written % 100 == 0
