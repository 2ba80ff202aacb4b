"""`pybpf serve` input errors, shutdown, and scrapes while it stops.

Every bad input is one line on stderr and exit status 1, and (watched with
strace) comes before any gadget program is loaded or attached.
"""
from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest
from metrics_support import SERVE, Serve, http_get
from test_gadget_trace_support import require

from pybpf_gadgets import top_tcp, trace_exec

pytestmark = pytest.mark.kernel

# a gadget program loaded (probes load unnamed ones) or anything attached
_ATTACHED = re.compile(r'BPF_PROG_LOAD, \{[^}]*prog_name="[^"]+"|BPF_LINK_CREATE|'
                       r"BPF_RAW_TRACEPOINT_OPEN|perf_event_open\(")


def _bad(tmp_path, args, config=None):
    if config is not None:
        path = tmp_path / "serve.json"
        path.write_text(config if isinstance(config, str) else json.dumps(config))
        args = args + ["--config", str(path)]
    cmd = SERVE + args
    if shutil.which("strace"):
        cmd = ["strace", "-f", "-qq", "-o", str(tmp_path / "strace.txt"),
               "-e", "trace=bpf,perf_event_open"] + cmd
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    lines = done.stderr.splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and lines[0].startswith("pybpf serve: "), done.stderr
    if shutil.which("strace"):
        trace = (tmp_path / "strace.txt").read_text()
        assert not _ATTACHED.search(trace), _ATTACHED.search(trace).group(0)
    return lines[0]


def test_port_in_use(tmp_path):
    require(trace_exec.GADGET)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = _bad(tmp_path, ["trace_exec", "top_tcp", "--listen", f"127.0.0.1:{port}"])
    assert line == f"pybpf serve: --listen 127.0.0.1:{port}: cannot listen: the port is in use"


@pytest.mark.parametrize("args,config,message", [
    (["--listen", "192.0.2.1:9431", "trace_exec"], None,
     "--listen 192.0.2.1:9431: cannot listen: not an address of this host"),
    (["--listen", "127.0.0.1:99999", "trace_exec"], None, "port '99999' is not a number"),
    (["trace_exek"], None, "unknown gadget 'trace_exek' (did you mean trace_exec"),
    (["trace_exec:runtime.containerName,nope"], None, "gadget trace_exec: unknown field 'nope'"),
    (["profile_cpu"], None, "gadget profile_cpu has no metrics form"),
    ([], None, "no gadget to serve"),
    ([], {"gadgets": {"top_tcp": {"params": {"family": "9"}}}}, "--family '9': expected 4 or 6"),
    ([], {"gadgets": {"top_tcp": {"labelz": ["dst"]}}}, "gadgets.top_tcp: unknown key 'labelz'"),
    ([], {"gadgets": {"top_tcp": {"labels": ["dst", "nope"]}}},
     "gadgets.top_tcp: gadget top_tcp: unknown field 'nope'"),
    ([], {"gadgets": {"trace_exec": {"filters": ["nope=1"]}}}, "unknown field 'nope'"),
    ([], {"gadgets": {"trace_exec": {"pid": "x"}}}, "pid 'x': expected int"),
    ([], {"listen": "127.0.0.1:0", "gadgetz": {}}, "unknown key 'gadgetz'"),
    ([], "{not json", "not JSON"),
])
def test_bad_input(tmp_path, args, config, message):
    require(trace_exec.GADGET)
    assert message in _bad(tmp_path, args, config)


def test_sigterm_detaches_and_exits_even_with_a_stalled_client():
    require(trace_exec.GADGET)
    require(top_tcp.GADGET)
    served = Serve(["trace_exec", "top_tcp", "--interval", "0.5"])
    try:
        assert "pybpf_trace_exec_events_total" in served.metrics()
        assert http_get(served.url + "/healthz") == "ok\n"
        stalled = socket.create_connection(("127.0.0.1", served.port))
        stalled.sendall(b"GET /metrics HTTP/1.1\r\n")  # never finished
        t0 = time.monotonic()
        rc = served.stop(signal.SIGTERM)
        took = time.monotonic() - t0
        stalled.close()
    finally:
        if served.proc.poll() is None:
            served.stop(signal.SIGKILL)
    assert rc == 0 and "Traceback" not in served.stderr, served.stderr
    assert took < 5, f"shutdown took {took:.1f}s"


def test_sigint_is_a_clean_stop_too():
    require(trace_exec.GADGET)
    served = Serve(["trace_exec"])
    assert served.stop(signal.SIGINT) == 0
    assert "Traceback" not in served.stderr and "KeyboardInterrupt" not in served.stderr


def _bpf_fds():
    """This process's fds that are BPF programs, maps or links (by their fdinfo)."""
    import os
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            with open(f"/proc/self/fdinfo/{fd}") as fh:
                info = fh.read()
        except OSError:
            continue
        if "prog_type:" in info or "map_type:" in info or "link_type:" in info:
            out.append(fd)
    return out


def test_a_finished_serve_leaves_no_bpf_fd_behind():
    """In-process: after the run ends, every program, map and link fd it
    opened is closed (the runs are detached, not left to process exit)."""
    import argparse

    from pybpf_gadgets.metrics import service
    require(trace_exec.GADGET)
    require(top_tcp.GADGET)
    before = _bpf_fds()
    args = argparse.Namespace(gadgets=["trace_exec", "top_tcp", "profile_blockio"], config=None,
                              listen="127.0.0.1:0", interval=0.3, max_series=None,
                              container=None, timeout=1.5)
    _, feeds, server = service.prepare(args)
    assert service.run(feeds, server, args.timeout) == 0
    assert all(f.error is None for f in feeds), [f.error for f in feeds]
    assert _bpf_fds() == before


def test_the_series_cap_folds_new_pids_and_counts_them():
    require(trace_exec.GADGET)
    served = Serve(["trace_exec:proc.pid", "--max-series", "2"])
    try:
        for _ in range(6):
            subprocess.run(["/bin/true"], check=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = served.metrics()
            if 'pybpf_trace_exec_events_total{pid="__overflow__"}' in text:
                break
            time.sleep(0.3)
    finally:
        assert served.stop() == 0
    lines = [line for line in text.splitlines() if line.startswith("pybpf_trace_exec_events")]
    assert len(lines) == 3, lines  # two pids, then the overflow series
    dropped = re.search(r'pybpf_metrics_dropped_series_total\{metric="pybpf_trace_exec_events_'
                        r'total"\} (\d+)', text)
    assert dropped and int(dropped.group(1)) >= 1
