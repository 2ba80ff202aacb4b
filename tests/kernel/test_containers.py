"""Container discovery, selection and in-kernel filtering with two stand-in
containers (private mount+pid namespaces, own cgroup) and the host running
the same trigger."""
import os
import shutil
import subprocess
import uuid

import pytest
from test_gadget_trace_support import StandIn, collect

from pybpf_gadgets import trace_exec, trace_open
from pybpf_gadgets.common import containers as ctr
from pybpf_gadgets.common.errors import GadgetError

ECHO = shutil.which("echo") or "/bin/echo"


@pytest.fixture
def two_containers():
    a = StandIn("pybpfa")
    try:
        b = StandIn("pybpfb")
    except BaseException:
        a.close()
        raise
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_discovery_finds_stand_ins(two_containers):
    a, b = two_containers
    found = {c.name: c for c in ctr.discover()}
    assert a.name in found and b.name in found
    ca = found[a.name]
    assert ca.runtime == "cgroup" and ca.id == "/" + a.name
    assert a.mntns in ca.mntns_ids and a.init_pid in ca.pids
    assert ca.cgroup_id == os.stat(a.cgroup).st_ino
    # selectable by name, cgroup path (both forms) and mntns id
    for key in (a.name, "/" + a.name, str(a.cgroup), str(a.mntns)):
        assert [c.name for c in ctr.select([key])] == [a.name]
    with pytest.raises(GadgetError):
        ctr.select(["pybpf-no-such-" + uuid.uuid4().hex[:6]])


def test_exec_filtered_to_one_container(two_containers):
    a, b = two_containers
    tag = f"pybpf-ctr-{uuid.uuid4().hex[:8]}"

    def trigger():
        a.run([ECHO, tag, "a"], stdout=subprocess.DEVNULL)
        b.run([ECHO, tag, "b"], stdout=subprocess.DEVNULL)
        subprocess.run([ECHO, tag, "host"], stdout=subprocess.DEVNULL)

    with trace_exec.run(container=a.name) as run:
        events = collect(run, trigger, lambda e: tag in e["args"], settle=1.0)
    assert events
    assert {e["args"][-1] for e in events} == {"a"}
    for e in events:
        assert e["runtime"] == {"containerName": a.name, "containerId": "/" + a.name,
                                "containerImageName": "", "runtimeName": "cgroup"}
        assert e["k8s"] == {"namespace": "", "podName": "", "containerName": "", "podLabels": {}}
        assert e["proc"]["mntns_id"] == a.mntns
        assert e["proc"]["cgroup_id"] == os.stat(a.cgroup).st_ino


def test_unfiltered_run_enriches_each(two_containers):
    a, b = two_containers
    tag = f"pybpf-all-{uuid.uuid4().hex[:8]}"

    def trigger():
        a.run([ECHO, tag, "a"], stdout=subprocess.DEVNULL)
        b.run([ECHO, tag, "b"], stdout=subprocess.DEVNULL)
        subprocess.run([ECHO, tag, "host"], stdout=subprocess.DEVNULL)

    with trace_exec.run(comm="echo") as run:
        events = collect(run, trigger, lambda e: tag in e["args"], want=3)
    names = {e["args"][-1]: e["runtime"]["containerName"] for e in events}
    assert names == {"a": a.name, "b": b.name, "host": ""}


def test_open_filtered_by_mntns_id(two_containers, tmp_path):
    a, b = two_containers
    tag = f"pybpf-open-{uuid.uuid4().hex[:8]}"
    path = tmp_path / tag  # visible in the containers: their mounts are copies of the host's
    path.write_text("x")

    def trigger():
        a.run(["cat", str(path)], stdout=subprocess.DEVNULL)
        b.run(["cat", str(path)], stdout=subprocess.DEVNULL)
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL)

    with trace_open.run(container=str(b.mntns), comm="cat") as run:
        events = collect(run, trigger, lambda e: tag in e["fname"], settle=1.0)
    assert events
    assert {e["runtime"]["containerName"] for e in events} == {b.name}
    assert {e["proc"]["mntns_id"] for e in events} == {b.mntns}


def test_cli_container_json(two_containers):
    import json

    from test_gadget_trace_support import CLIRun
    a, b = two_containers
    tag = f"pybpf-cli-{uuid.uuid4().hex[:8]}"

    def trigger():
        a.run([ECHO, tag, "a"], stdout=subprocess.DEVNULL)
        b.run([ECHO, tag, "b"], stdout=subprocess.DEVNULL)

    cli = CLIRun("trace_exec", "-o", "json", "--timeout", "120", "-c", b.name,
                 "--fields", "runtime.containerName,args")
    try:
        line = cli.wait_for(trigger, lambda s: tag in s)
        rest = [cli.lines.get_nowait() for _ in range(cli.lines.qsize())]
    finally:
        rc, err = cli.stop()
    assert line is not None, err
    for text in [line] + rest:
        event = json.loads(text)
        if tag in event.get("args", []):
            assert event == {"runtime": {"containerName": b.name}, "args": [ECHO, tag, "b"]}
    assert rc == 0


def test_dns_filtered_to_one_container(two_containers):
    import sys

    from test_gadget_trace_dns import CLIENT, Resolver

    from pybpf_gadgets import trace_dns
    a, b = two_containers
    res = Resolver()
    name = f"pybpf-{uuid.uuid4().hex[:8]}.example.test"

    def trigger():
        for who, runner in (("a", a.run), ("b", b.run), ("host", subprocess.run)):
            runner([sys.executable, "-c", CLIENT, f"{who}.{name}", str(res.port), "1"])

    try:
        with trace_dns.run(port=res.port, container=a.name) as run:
            events = collect(run, trigger, lambda e: name in e["name"], want=2, settle=1.0)
    finally:
        res.close()
    assert {e["name"] for e in events} == {f"a.{name}."}
    assert {e["runtime"]["containerName"] for e in events} == {a.name}
    assert {e["qr"] for e in events} == {"Q", "R"}


def test_new_namespace_in_a_selected_container_is_followed(two_containers):
    """A process of container A that moves to a new mount namespace after
    the run started is still A's (same cgroup): the run adds its namespace."""
    a, b = two_containers
    tag = f"pybpf-new-{uuid.uuid4().hex[:8]}"
    procs = []

    def trigger():
        if not procs:
            procs.append(subprocess.Popen(
                ["nsenter", "-t", str(a.init_pid), "-m", "-p", "--", "unshare", "-m", "sh", "-c",
                 f"while true; do {ECHO} {tag} >/dev/null; sleep 0.3; done"],
                preexec_fn=a._join))

    try:
        with trace_exec.run(container=a.name) as run:
            events = collect(run, trigger, lambda e: tag in e["args"], timeout=20)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert events and events[0]["runtime"]["containerName"] == a.name
    assert events[0]["proc"]["mntns_id"] != a.mntns
