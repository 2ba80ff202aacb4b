"""snapshot_file on the real kernel: an open unique file is found with its
fd, type, inode and full path; sockets and pipes get their pseudo paths."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from pybpf_gadgets import snapshot_file

ROOT = Path(__file__).resolve().parents[2]


def test_open_unique_file_found(tmp_path, unique_name):
    path = tmp_path / unique_name("snapfile")
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o640)
    r, w = os.pipe()
    try:
        rows = snapshot_file.run(pid=os.getpid())
        ino = os.fstat(fd).st_ino
        pipe_ino = os.fstat(r).st_ino
    finally:
        os.close(fd)
        os.close(r)
        os.close(w)
    by_fd = {row["fd"]: row for row in rows}
    mine = by_fd[fd]
    assert mine["path"] == str(path)
    assert mine["type"] == "regular" and mine["ino"] == ino and mine["mode"] == "0640"
    assert mine["proc"]["pid"] == os.getpid() and mine["runtime"]["containerName"] == ""
    assert by_fd[r]["type"] == "fifo" and by_fd[r]["path"] == f"pipe:[{pipe_ino}]"
    assert all(row["proc"]["pid"] == os.getpid() for row in rows)
    assert [row["fd"] for row in rows] == sorted(row["fd"] for row in rows)


def test_socket_path(tmp_path):
    sock = socket.socket()
    try:
        fd = sock.fileno()
        ino = os.fstat(fd).st_ino
        rows = snapshot_file.run(pid=os.getpid())
    finally:
        sock.close()
    row = [r for r in rows if r["fd"] == fd][0]
    assert row["type"] == "socket" and row["path"] == f"socket:[{ino}]"


def test_command_line_filter_on_path(tmp_path, unique_name):
    path = tmp_path / unique_name("snapfile")
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import sys, time\nf = open({str(path)!r}, 'w')\n"
                               "print('open', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        out = subprocess.run([sys.executable, "-m", "pybpf", "run", "snapshot_file", "-o", "json",
                              "--filter", f"path~{path.name}"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    finally:
        holder.kill()
        holder.wait()
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["proc"]["pid"], r["path"]) for r in rows] == [(holder.pid, str(path))]
