"""Every gadget in every output mode through `pybpf run`, with cheap triggers:
json lines parsed, jsonpretty parsed value after value, yaml read by YAML's
rules (and PyYAML when installed), columns on a 100-column terminal (a pty)
with no line wider. Plus the user-facing messages of issue 13 that need a run.

The runs are shared: a module fixture runs each gadget in all four modes, ten
runs in flight at a time, while one thread keeps every kind of activity
going (exec, open, bind, TCP traffic, DNS, kill, mount, fsync), so the file
takes well under a minute and a half.
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import yaml_rules
from test_gadget_trace_misc import bind_low_port

from pybpf_gadgets import registry

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 100
AT_ONCE = 10  # runs in flight
MODES = ("json", "jsonpretty", "yaml", "columns")
RUN = [sys.executable, "-m", "pybpf", "run"]
ARGS = {
    "trace": ["--timeout", "1.5"],
    "top": ["--timeout", "1.6", "--interval", "0.5"],
    "profile": ["--timeout", "1.5"],
    "snapshot": [],
}
EXTRA = {"snapshot_process": ["--max-entries", "30"], "snapshot_file": ["--max-entries", "30"],
         "snapshot_socket": ["--max-entries", "30"], "top_file": ["--all-files"]}
#: gadgets the activity thread makes print at least one event or row
ACTIVE = {"trace_exec", "trace_open", "trace_bind", "trace_tcp", "trace_signal",
          "trace_capabilities", "trace_dns", "trace_mount", "top_file", "top_tcp", "top_bpf",
          "profile_cpu", "profile_blockio", "profile_tcprtt", "snapshot_process",
          "snapshot_file", "snapshot_socket"}
#: outputs that are not a table (BCC's stack text): lines are not cut
FREE_TEXT = {"profile_cpu"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Activity:
    """Everything the gadgets watch, over and over, in one thread."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.sleeper = subprocess.Popen(["sleep", "120"])
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "Activity":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()
        self.sleeper.kill()
        self.sleeper.wait()

    def _tcp(self) -> None:
        client = socket.create_connection(self.listener.getsockname())
        server, _ = self.listener.accept()
        for _ in range(3):
            client.sendall(b"x" * 1000)
            server.recv(4096)
            server.sendall(b"y" * 1000)
            client.recv(4096)
        client.close()
        server.close()

    def _dns(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + \
            b"\x07example\x03com\x00" + struct.pack(">HH", 1, 1)
        s.sendto(query, ("127.0.0.1", 53))
        s.close()

    def _files(self) -> None:
        path = self.work / "activity"
        with open(path, "wb") as fh:
            fh.write(os.urandom(64 << 10))
            fh.flush()
            os.fsync(fh.fileno())
        path.read_bytes()

    def _mount(self) -> None:
        subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        f"mount -t tmpfs pybpfall {self.work}"], check=False)

    def _loop(self) -> None:
        while not self.stop.is_set():
            subprocess.run(["/bin/true", "pybpf-all-outputs"], check=False)
            for step in (self._files, self._tcp, self._dns, lambda: bind_low_port(84),
                         self._mount):
                try:
                    step()
                except OSError:
                    pass
            os.kill(self.sleeper.pid, signal.SIGCONT)
            end = time.monotonic() + 0.02
            while time.monotonic() < end:  # a little CPU for profile_cpu
                pass
            self.stop.wait(0.15)


def _pty_reader(master: int, sink: List[bytes]) -> threading.Thread:
    def drain() -> None:
        while True:
            try:
                ready, _, _ = select.select([master], [], [], 30)
                data = os.read(master, 65536) if ready else b""
            except OSError:  # EIO: the child side closed
                break
            if not data:
                break
            sink.append(data)
    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    return thread


def _start(name: str, mode: str, extra: List[str]) -> Tuple[subprocess.Popen, object]:
    """One `pybpf run` of ``name`` in ``mode``: piped, or on a pty for columns."""
    gadget = registry.get(name)
    argv = RUN + [name, *ARGS[gadget.category], *EXTRA.get(name, []), *extra]
    env = dict(os.environ, COLUMNS=str(WIDTH), LINES="40")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # 80 start-ups: compile the modules once
    if mode != "columns":
        proc = subprocess.Popen(argv + ["-o", mode], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                                cwd=ROOT)
        return proc, None
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, WIDTH, 0, 0))
    proc = subprocess.Popen(argv, stdout=slave, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
    os.close(slave)
    chunks: List[bytes] = []
    return proc, (master, chunks, _pty_reader(master, chunks))


def _finish(proc: subprocess.Popen, tty: object) -> Tuple[int, str, str]:
    if tty is None:
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out.decode(), err.decode()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    master, chunks, thread = tty
    thread.join(10)
    os.close(master)
    text = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    return proc.returncode, text, err.decode()


Outputs = Dict[Tuple[str, str], Tuple[int, str, str]]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Outputs:
    """(gadget, mode) -> (exit status, stdout, stderr) of every run."""
    work = Path(tempfile_dir()) / f"pybpf-all-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    names = [g.name for g in registry.all_gadgets() if g.name != "trace_oomkill"]
    names.append("trace_oomkill")  # nothing triggers it: an empty run in every mode
    runs = [(n, m, []) for n in names for m in MODES]
    runs.append(("trace_exec", "columns-T", ["-T", "-t"]))
    results: Outputs = {}
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not runs:
                    return
                name, mode, extra = runs.pop(0)
            proc, tty = _start(name, mode.split("-")[0], extra)
            results[(name, mode)] = _finish(proc, tty)

    try:
        with Activity(work):
            workers = [threading.Thread(target=worker) for _ in range(AT_ONCE)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def tempfile_dir() -> str:
    """A directory on a disk (block I/O for the block gadgets), not tmpfs."""
    return "/var/tmp" if os.path.isdir("/var/tmp") else str(ROOT)


def _gadget_modes():
    return [(g.name, m) for g in registry.all_gadgets() for m in MODES]


def _ok(outputs: Outputs, name: str, mode: str) -> str:
    rc, out, err = outputs[(name, mode)]
    if rc != 0 and "needs" in err:  # a gadget this kernel cannot run: one line says why
        pytest.skip(err.strip())
    assert rc == 0, err
    assert "Traceback" not in err, err
    return out


@pytest.mark.parametrize("name,mode", _gadget_modes())
def test_every_gadget_in_every_output_mode(outputs, name, mode):
    out = _ok(outputs, name, mode)
    expect_rows = name in ACTIVE
    if mode == "json":
        values = [json.loads(line) for line in out.splitlines()]
    elif mode == "jsonpretty":
        values, at, decoder = [], 0, json.JSONDecoder()
        while out[at:].strip():
            value, at = decoder.raw_decode(out, at + len(out[at:]) - len(out[at:].lstrip()))
            values.append(value)
    elif mode == "yaml":
        values = yaml_rules.documents(out) if out else []
        try:
            import yaml
        except ImportError:
            pass
        else:
            assert list(yaml.safe_load_all(out)) == values
    else:
        lines = ANSI.sub("\n", out).splitlines()  # a live table redraws after escapes
        if name not in FREE_TEXT:
            too_wide = [line for line in lines if len(line) > WIDTH]
            assert not too_wide, too_wide[:3]
        values = [line for line in lines if line.strip()]
    assert all(isinstance(v, (dict, str)) for v in values)
    if expect_rows:
        assert values, f"{name} -o {mode} printed nothing"


def test_time_columns_of_bcc_in_a_run(outputs):
    out = _ok(outputs, "trace_exec", "columns-T")
    header, *rows = [line for line in out.splitlines() if line.strip()]
    assert header.split()[:2] == ["TIME", "TIME(s)"]
    mine = [r for r in rows if re.match(r"\d\d:\d\d:\d\d +\d+\.\d{3} +true ", r)]
    assert mine, rows[:5]


def test_a_profile_says_how_long_and_what_it_symbolises(outputs):
    _, _, err = outputs[("profile_cpu", "columns")]
    assert "Tracing (profile_cpu) for 1.5s..." in err and "Ctrl-C" not in err
    assert re.search(r"Symbolising \d+ stacks\.\.\.", err)


def test_a_histogram_profile_with_no_samples_prints_one_empty_histogram():
    got = subprocess.run(RUN + ["profile_tcprtt", "--timeout", "0.3", "--dport", "1", "-o",
                                "json"], capture_output=True, text=True, cwd=ROOT)
    assert got.returncode == 0, got.stderr
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["count"] == 0 and rows[0]["histogram"]["buckets"] == []


@pytest.mark.skipif(not shutil.which("setpriv"), reason="no setpriv")
def test_top_bpf_without_cap_sys_admin_is_one_line_before_loading():
    got = subprocess.run(["setpriv", "--inh-caps", "-sys_admin", "--bounding-set", "-sys_admin",
                          *RUN, "top_bpf", "--timeout", "1"], capture_output=True, text=True,
                         cwd=ROOT)
    assert got.returncode == 1 and got.stdout == ""
    assert got.stderr.count("\n") == 1 and "needs CAP_SYS_ADMIN" in got.stderr
