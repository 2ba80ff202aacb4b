"""Gadgets filtered to real containers: `-c` by name, short id and id prefix
on podman, containerd and docker; the event's container fields; a
container that exits under a running gadget; a name that matches nothing."""
import subprocess
import sys
import uuid

from pybpf_gadgets import trace_exec
from runtimes_support import unique
from test_gadget_trace_support import ROOT, collect


def _traced(run, runtime, names_and_execs, tag):
    """Exec `echo tag who` in each container until the selected one's shows."""
    def trigger():
        for who, exec_ in names_and_execs:
            exec_(who, "/bin/echo", tag, who)
    return collect(run, trigger, lambda e: tag in e["args"], settle=1.0)


def test_podman_by_name_only_that_container(podman):
    a, b = unique("pa"), unique("pb")
    podman.run(a)
    podman.run(b)
    tag = f"pybpf-{uuid.uuid4().hex[:8]}"
    try:
        with trace_exec.run(container=a) as run:
            events = _traced(run, "podman", [(a, podman.exec), (b, podman.exec)], tag)
        info = podman.inspect(a)
    finally:
        podman.rm(a, b)
    assert events and {e["args"][-1] for e in events} == {a}
    assert {(e["container"]["name"], e["container"]["id"], e["container"]["runtime"])
            for e in events} == {(a, info["Id"], "podman")}


def test_docker_by_short_id(docker):
    a, b = unique("da"), unique("db")
    cid = docker.run(a)
    docker.run(b)
    tag = f"pybpf-{uuid.uuid4().hex[:8]}"
    try:
        with trace_exec.run(container=cid[:12]) as run:
            events = _traced(run, "docker", [(a, docker.exec), (b, docker.exec)], tag)
    finally:
        docker.rm(a, b)
    assert events and {e["args"][-1] for e in events} == {a}
    assert {e["container"]["runtime"] for e in events} == {"docker"}


def test_containerd_by_name(containerd):
    a = unique("ca")
    containerd.run(a)
    tag = f"pybpf-{uuid.uuid4().hex[:8]}"
    try:
        with trace_exec.run(container=a) as run:
            events = _traced(run, "containerd", [(a, containerd.exec)], tag)
    finally:
        containerd.rm(a)
    assert events and {(e["container"]["name"], e["container"]["runtime"]) for e in events} == \
        {(a, "containerd")}


def test_container_that_exits_under_the_gadget(podman):
    """The run goes on when its container is gone, and sees nothing else."""
    a, b = unique("pe"), unique("pf")
    podman.run(a)
    podman.run(b)
    tag = f"pybpf-{uuid.uuid4().hex[:8]}"
    try:
        with trace_exec.run(container=a, timeout=60) as run:
            first = _traced(run, "podman", [(a, podman.exec)], tag)
            podman.rm(a)
            later = collect(run, lambda: podman.exec(b, "/bin/echo", tag, b),
                            lambda e: tag in e["args"], timeout=6)
    finally:
        podman.rm(a, b)
    assert first and {e["args"][-1] for e in first} == {a}
    assert later == []


def test_cli_unknown_container_one_line(podman):
    a = unique("pn")
    podman.run(a)
    try:
        proc = subprocess.run([sys.executable, "-m", "pybpf", "run", "trace_exec", "-c",
                               "pybpf-nothing-" + uuid.uuid4().hex[:6], "--timeout", "5"],
                              cwd=str(ROOT), capture_output=True, text=True, timeout=120)
    finally:
        podman.rm(a)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and a in lines[0] and "running:" in lines[0]
    assert "Traceback" not in proc.stderr
