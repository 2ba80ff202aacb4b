"""Discovery of real podman, containerd and docker containers, checked
against what each runtime's own CLI says (podman inspect, ctr, docker
inspect), and selection by name, full id and unique id prefix."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from runtimes_support import app_pod_yaml, mntns, unique, wait_until
from test_gadget_trace_support import ROOT

from pybpf_gadgets.common import containers as ctr
from pybpf_gadgets.common.errors import GadgetError
from pybpf_gadgets.common.runtimes import docker as docker_state
from pybpf_gadgets.common.runtimes.record import Problems


def found(name):
    """The discovered container named ``name`` (waits for it to show)."""
    box = {}

    def look():
        box["c"] = next((c for c in ctr.discover() if c.name == name), None)
        return box["c"] is not None
    wait_until(look, 20, f"container {name} in discovery")
    return box["c"]


def test_podman_container(podman):
    name = unique("pw")
    podman.run(name, labels={"app": "web", "tier": "front"})
    try:
        info = podman.inspect(name)
        c = found(name)
        assert c.id == info["Id"] and c.short_id == info["Id"][:12]
        assert c.runtime == "podman"
        assert c.image == info["ImageName"]
        assert c.pid == info["State"]["Pid"]
        assert c.mntns_id == mntns(c.pid)
        assert c.labels == info["Config"]["Labels"] == {"app": "web", "tier": "front"}
        assert c.cgroup_path == "/libpod_parent/libpod-" + info["Id"]
        assert c.cgroup_id == os.stat(str(ctr.cgroup2_root()) + c.cgroup_path).st_ino
        assert c.sources["name"].endswith("bolt_state.db")
        for want in (name, info["Id"], info["Id"][:12]):
            assert [x.name for x in ctr.select([want])] == [name]
    finally:
        podman.rm(name)


def test_containerd_container(containerd):
    name = unique("cd")
    containerd.run(name, labels={"app": "db"})
    try:
        info = containerd.info(name)
        c = found(name)
        assert (c.id, c.runtime) == (info["ID"], "containerd")
        assert c.image == info["Image"]
        assert c.labels["app"] == info["Labels"]["app"] == "db"
        assert c.pid == containerd.pid(name)
        assert c.mntns_id == mntns(c.pid)
        assert c.cgroup_path == f"/default/{name}"
        assert c.sources["image"].endswith("meta.db")
        assert [x.name for x in ctr.select([name])] == [name]
    finally:
        containerd.rm(name)


def test_docker_container(docker):
    name = unique("dk")
    docker.run(name, labels={"app": "api"})
    try:
        info = docker.inspect(name)
        c = found(name)
        assert (c.id, c.short_id, c.runtime) == (info["Id"], info["Id"][:12], "docker")
        assert c.image == info["Config"]["Image"]
        assert c.pid == info["State"]["Pid"]
        assert c.labels["app"] == "api"
        assert c.cgroup_path == "/docker/" + info["Id"]
        for want in (name, info["Id"], info["Id"][:12], info["Id"][:7]):
            assert [x.name for x in ctr.select([want])] == [name], want
        # the Engine API (used when the state directory cannot be read) says the same
        problems = Problems()
        api = {r.id: r for r in docker_state._from_api(Path("/run/docker.sock"), problems)}
        assert problems.items == []
        assert (api[c.id].name, api[c.id].image, api[c.id].labels["app"]) == (name, c.image, "api")
    finally:
        docker.rm(name)


def test_kube_played_pod(podman, tmp_path):
    """A pod played from Kubernetes YAML: its container carries the pod's
    name and labels; its infra (sandbox) container is not listed."""
    pod = unique("pod")
    yaml = tmp_path / "pod.yaml"
    yaml.write_text(app_pod_yaml(pod, podman.image))
    podman.kube_play(yaml)
    try:
        c = found(f"{pod}-cart")
        assert c.ig_fields()["k8s"] == {"namespace": "", "podName": pod, "containerName": "cart",
                                        "podLabels": {"app": "cart", "tier": "front"}}
        infra = podman.inspect(f"{pod}-cart")["Pod"]
        assert not [x for x in ctr.discover() if x.name.startswith(infra[:12])]
        out = pybpf("containers", "-o", "json", "--k8s-selector", "app=cart,tier=front",
                    "--k8s-podname", pod)
        assert [json.loads(line)["runtime"]["containerName"] for line in out.stdout.splitlines()] \
            == [f"{pod}-cart"]
    finally:
        podman.kube_down(yaml)


def test_unknown_name_lists_running_containers_by_name(podman):
    name = unique("pl")
    podman.run(name)
    try:
        found(name)
        with pytest.raises(GadgetError) as err:
            ctr.select(["pybpf-no-such-container"])
        assert name in str(err.value) and "libpod-" not in str(err.value)
    finally:
        podman.rm(name)


def pybpf(*args):
    return subprocess.run([sys.executable, "-m", "pybpf", *args], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=120)


def test_containers_command(podman, docker):
    """`pybpf containers`: columns with short ids, -o json in ig's shape, filters."""
    web, api = unique("cw"), unique("ca")
    podman.run(web, labels={"app": "web"})
    docker.run(api)
    try:
        found(web)
        found(api)
        pinfo, dinfo = podman.inspect(web), docker.inspect(api)
        cols = pybpf("containers")
        assert cols.returncode == 0, cols.stderr
        rows = {line.split()[1]: line.split() for line in cols.stdout.splitlines()[1:]}
        assert rows[web][:3] == ["podman", web, pinfo["Id"][:12]]
        assert rows[api][:3] == ["docker", api, dinfo["Id"][:12]]
        out = pybpf("containers", "-o", "json", "-c", pinfo["Id"][:10])
        assert out.returncode == 0, out.stderr
        [entry] = [json.loads(line) for line in out.stdout.splitlines()]
        assert entry["runtime"] == {"containerName": web, "containerId": pinfo["Id"],
                                    "containerImageName": pinfo["ImageName"],
                                    "runtimeName": "podman", "containerShortId": pinfo["Id"][:12]}
        assert entry["pid"] == pinfo["State"]["Pid"] and entry["labels"] == {"app": "web"}
        only_docker = pybpf("containers", "-o", "json", "--runtimes", "docker")
        names = {json.loads(line)["runtime"]["containerName"] for line in only_docker.stdout.splitlines()}
        assert api in names and web not in names
        bad = pybpf("containers", "--k8s-selector", "novalue")
        assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    finally:
        podman.rm(web)
        docker.rm(api)
