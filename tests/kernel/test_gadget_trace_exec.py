"""trace_exec against the kernel: library and CLI, fields checked against a
known child process."""
import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
from test_gadget_trace_support import CLIRun, collect, require

from pybpf_gadgets import trace_exec

ECHO = shutil.which("echo") or "/bin/echo"


@pytest.mark.vm
def test_library_exec_fields(tmp_path):
    require(trace_exec.GADGET)
    tag = f"pybpf-exec-{uuid.uuid4().hex[:8]}"
    children = []

    def trigger():
        p = subprocess.Popen([ECHO, tag, "second arg"], cwd=str(tmp_path),
                             stdout=subprocess.DEVNULL)
        p.wait()
        children.append(p.pid)

    with trace_exec.run(comm="echo") as run:
        events = collect(run, trigger, lambda e: tag in e["args"])
    assert events, "no exec event seen"
    e = events[0]
    assert e["proc"]["comm"] == "echo"
    assert e["proc"]["pid"] in children
    assert e["proc"]["ppid"] == os.getpid()
    assert e["proc"]["uid"] == os.getuid() and e["proc"]["gid"] == os.getgid()
    assert e["proc"]["mntns_id"] == os.stat("/proc/self/ns/mnt").st_ino
    assert e["args"] == [ECHO, tag, "second arg"]
    assert e["args_count"] == 3 and not e["args_truncated"]
    assert e["ret"] == 0 and e["error"] == ""
    assert e["exe"] == os.path.realpath(ECHO)
    assert e["cwd"] == str(tmp_path)
    assert e["file"] == ECHO
    assert e["runtime"]["containerName"] == ""
    assert e["timestamp"].endswith("Z")


def _failed_then_echo(tmp_path, arguments: int):
    """(tag, missing path, a trigger): an exec of a missing file, then echo
    with the tag and ``arguments`` more arguments."""
    tag = f"pybpf-{uuid.uuid4().hex[:8]}"
    missing = str(tmp_path / tag)

    def trigger():
        try:
            os.spawnv(os.P_WAIT, missing, [missing, "x"])
        except OSError:
            pass
        subprocess.run([ECHO, tag] + [f"a{i}" for i in range(arguments)],
                       stdout=subprocess.DEVNULL)
    return tag, missing, trigger


def test_failed_exec_and_truncation(tmp_path):
    tag, missing, trigger = _failed_then_echo(tmp_path, 30)
    with trace_exec.run(pid=None, fails=True) as run:
        events = collect(run, trigger,
                         lambda e: tag in " ".join(e["args"]) or tag in e["file"], want=2)
    failed = [e for e in events if e["ret"] != 0]
    long = [e for e in events if e["ret"] == 0]
    assert failed and long
    assert failed[0]["error"] == "ENOENT" and failed[0]["ret"] == -2
    assert failed[0]["file"] == missing and failed[0]["exe"] == ""
    assert long[0]["args_truncated"] and long[0]["args_count"] == 20
    assert long[0]["args"][:2] == [ECHO, tag] and len(long[0]["args"]) == 20


def test_failed_execs_hidden_by_default_and_max_args(tmp_path):
    """BCC's execsnoop defaults: no failed exec without -x; --max-args in the kernel."""
    require(trace_exec.GADGET)
    tag, _, trigger = _failed_then_echo(tmp_path, 9)
    with trace_exec.run(max_args=3) as run:
        events = collect(run, trigger,
                         lambda e: tag in " ".join(e["args"]) or tag in e["file"], settle=0.5)
    assert events and all(e["ret"] == 0 for e in events)
    assert events[0]["args"] == [ECHO, tag, "a0"] and events[0]["args_count"] == 3
    assert events[0]["args_truncated"]


@pytest.mark.vm  # the verifier's cost of the 64-iteration loop differs by kernel
def test_max_args_at_its_bound(tmp_path):
    """--max-args 64, the loop's bound: the verifier walks all 64 iterations (a smaller
    value lets it prune the rest), and 64 arguments arrive."""
    require(trace_exec.GADGET)
    tag, _, trigger = _failed_then_echo(tmp_path, 70)
    with trace_exec.run(max_args=64) as run:
        events = collect(run, trigger, lambda e: tag in " ".join(e["args"]))
    assert events[0]["args_count"] == 64 and events[0]["args_truncated"]
    assert events[0]["args"][:3] == [ECHO, tag, "a0"] and events[0]["args"][-1] == "a61"


def test_cli_json(tmp_path):
    tag = f"pybpf-cli-{uuid.uuid4().hex[:8]}"
    cli = CLIRun("trace_exec", "-o", "json", "--timeout", "120",
                 "--filter", f"args~{tag}", "--fields", "proc.comm,proc.pid,args,ret")
    try:
        line = cli.wait_for(lambda: subprocess.run([ECHO, tag], stdout=subprocess.DEVNULL),
                            lambda s: tag in s)
    finally:
        rc, err = cli.stop()
    assert line is not None, err
    event = json.loads(line)
    assert event["proc"]["comm"] == "echo"
    assert event["args"] == [ECHO, tag] and event["ret"] == 0
    assert set(event) == {"proc", "args", "ret"}
    assert rc == 0, err


def test_cli_columns_and_nonexistent_container():
    tag = f"pybpf-col-{uuid.uuid4().hex[:8]}"
    cli = CLIRun("trace_exec", "--timeout", "120", "--comm", "echo")
    try:
        line = cli.wait_for(lambda: subprocess.run([ECHO, tag], stdout=subprocess.DEVNULL),
                            lambda s: tag in s)
    finally:
        rc, err = cli.stop()
    assert line is not None and line.split()[0] == "echo", err
    assert rc == 0
    # a container that is not running: one line says so (and names the running
    # ones); the run follows it should it start (tests/containers)
    bad = subprocess.run([sys.executable, "-m", "pybpf", "run", "trace_exec", "-c", "nope-" + tag,
                          "--timeout", "2"], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert bad.stderr.strip().count("\n") == 0 and "no container" in bad.stderr
    assert "running" in bad.stderr and "Traceback" not in bad.stderr


def test_no_privileges_is_one_line():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root)
    for argv in (["run", "trace_exec"], ["list"]):
        # uid 0 without any capability: what an unprivileged user has
        out = subprocess.run(["setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                              "--bounding-set=-all", sys.executable, "-m", "pybpf", *argv],
                             capture_output=True, text=True, cwd="/", env=env)
        if argv[0] == "run":
            assert out.returncode != 0
            assert out.stderr.strip().count("\n") == 0 and "needs root" in out.stderr
        else:
            assert out.returncode == 0
            assert "no" in out.stdout.split("\n")[1].split()[2]
            assert "needs root" in out.stdout


def test_list_says_what_runs_here():
    out = subprocess.run([sys.executable, "-m", "pybpf", "list", "-o", "json"], capture_output=True,
                         text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                             os.path.abspath(__file__)))))
    rows = {json.loads(line)["name"]: json.loads(line) for line in out.stdout.splitlines()}
    assert rows["trace_exec"]["can_run"] is True and rows["trace_exec"]["reason"] == ""
