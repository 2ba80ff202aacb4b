"""Gadgets filtered to real containers: `-c` by name, short id and id prefix
on podman, containerd and docker; the events' container fields in ig's shape;
a container that exits (it leaves the filter map) and comes back; a
container or pod started after the gadget; a name that matches nothing yet."""
import json
import subprocess
import sys
import threading
import time
import uuid

from runtimes_support import app_pod_yaml, mntns, unique, wait_until
from test_gadget_trace_support import ROOT, CLIRun, collect

from pybpf_gadgets import trace_exec


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
    assert {(e["runtime"]["containerName"], e["runtime"]["containerId"], e["runtime"]["runtimeName"])
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
    assert {e["runtime"]["runtimeName"] for e in events} == {"docker"}


def test_containerd_by_name(containerd):
    a = unique("ca")
    containerd.run(a)
    tag = f"pybpf-{uuid.uuid4().hex[:8]}"
    try:
        with trace_exec.run(container=a) as run:
            events = _traced(run, "containerd", [(a, containerd.exec)], tag)
    finally:
        containerd.rm(a)
    assert events and {(e["runtime"]["containerName"], e["runtime"]["runtimeName"]) for e in events} == \
        {(a, "containerd")}


def _mntns_map(run):
    """The mount-namespace ids in the run's kernel filter map."""
    fmap = run.collection.maps["gadget_mntns_filter_map"]
    return {k if isinstance(k, int) else int.from_bytes(bytes(k), sys.byteorder)
            for k in fmap.keys()}


def test_container_that_exits_leaves_the_map_and_comes_back(podman):
    """A selected container that exits leaves the kernel's filter map (and
    nothing else is shown); started again under the same name, it is
    followed again."""
    a, b = unique("pe"), unique("pf")
    podman.run(a)
    podman.run(b)
    tag = f"pybpf-{uuid.uuid4().hex[:8]}"
    seen = []
    try:
        with trace_exec.run(container=a, timeout=120) as run:
            reader = threading.Thread(target=lambda: seen.extend(
                e for e in run if tag in e["args"]), daemon=True)
            reader.start()
            first_ns = mntns(podman.inspect(a)["State"]["Pid"])
            assert _mntns_map(run) == {first_ns}
            wait_until(lambda: podman.exec(a, "/bin/echo", tag, "one") or
                       any(e["args"][-1] == "one" for e in seen), 30, "a's exec")
            podman.rm(a)
            wait_until(lambda: _mntns_map(run) == set(), 20, "a's namespace to leave the map")
            podman.exec(b, "/bin/echo", tag, "other")
            podman.run(a)
            second_ns = mntns(podman.inspect(a)["State"]["Pid"])
            wait_until(lambda: _mntns_map(run) == {second_ns}, 20, "the new a in the map")
            wait_until(lambda: podman.exec(a, "/bin/echo", tag, "two") or
                       any(e["args"][-1] == "two" for e in seen), 30, "the new a's exec")
            run.stop()
            reader.join(timeout=10)
    finally:
        podman.rm(a, b)
    assert {e["args"][-1] for e in seen} <= {"one", "two"}
    assert {e["runtime"]["containerName"] for e in seen} == {a}


def _first_exec_after_start(selectors, start, stop):
    """`pybpf run trace_exec SELECTORS` started first; then ``start(tag)``
    starts a container whose entrypoint is `/bin/sh -c "echo TAG; sleep 60"`.
    The entrypoint's exec (the container's first) as the gadget printed it,
    the other events, and the gadget's stderr."""
    tag = f"pybpf-late-{uuid.uuid4().hex[:8]}"
    cli = CLIRun("trace_exec", "-o", "json", "--timeout", "120", *selectors)
    t0 = time.monotonic()
    started = []

    def trigger():
        if not started and time.monotonic() > t0 + 3:   # the gadget is loaded by then
            started.append(start(tag))
    try:
        line = cli.wait_for(trigger, lambda s: tag in s and '"/bin/sh"' in s)
        rest = [cli.lines.get_nowait() for _ in range(cli.lines.qsize())]
    finally:
        _, err = cli.stop()
        stop()
    assert line is not None, err
    return json.loads(line), [json.loads(x) for x in rest if x.startswith("{")], err


def test_container_started_after_the_gadget(podman):
    """`-c web2` before `podman run --name web2`: one line says it is not
    running yet, and web2's first exec (its entrypoint) is shown."""
    name, other = unique("late"), unique("po")
    podman.run(other)
    try:
        event, rest, err = _first_exec_after_start(
            ["-c", name], lambda tag: podman.run(name, "/bin/sh", "-c", f"echo {tag}; sleep 60"),
            lambda: podman.rm(name))
    finally:
        podman.rm(other)
    assert event["args"][0] == "/bin/sh" and event["runtime"]["containerName"] == name
    assert event["runtime"]["runtimeName"] == "podman"
    assert {e["runtime"]["containerName"] for e in rest} <= {name}
    waiting = [line for line in err.splitlines() if "running" in line]
    assert len(waiting) == 1 and repr(name) in waiting[0] and other in waiting[0]


def test_k8s_selector_follows_pods_as_they_come(podman, tmp_path):
    """--k8s-selector: a pod played after the gadget starts, with matching
    labels, is followed from its first exec; events in ig's shape."""
    pod = unique("lp")
    yaml = tmp_path / "late.yaml"

    def start(tag):
        yaml.write_text(app_pod_yaml(pod, podman.image, labels={"app": "late", "tier": "web"},
                                     command=["/bin/sh", "-c", f"echo {tag}; sleep 60"]))
        podman.kube_play(yaml)
    event, rest, _ = _first_exec_after_start(["--k8s-selector", "app=late,tier=web"], start,
                                            lambda: podman.kube_down(yaml))
    assert event["runtime"]["containerName"] == f"{pod}-cart"
    assert event["k8s"] == {"namespace": "", "podName": pod, "containerName": "cart",
                            "podLabels": {"app": "late", "tier": "web"}}
    assert {e["k8s"]["podName"] for e in rest} <= {pod}


def test_cli_unknown_container_one_line(podman):
    a = unique("pn")
    podman.run(a)
    missing = "pybpf-nothing-" + uuid.uuid4().hex[:6]
    try:
        proc = subprocess.run([sys.executable, "-m", "pybpf", "run", "trace_exec", "-o", "json",
                               "-c", missing, "--timeout", "3"],
                              cwd=str(ROOT), capture_output=True, text=True, timeout=120)
    finally:
        podman.rm(a)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and a in lines[0] and "running:" in lines[0] and missing in lines[0]
    assert "libpod-" not in lines[0] and "Traceback" not in proc.stderr
    assert proc.returncode == 0 and proc.stdout == ""
