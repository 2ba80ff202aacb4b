"""Container discovery on a synthetic /proc (no root, no runtime)."""
import json
import os

import pytest

from pybpf_gadgets.common import containers as ctr
from pybpf_gadgets.common.errors import GadgetError

DOCKER_ID = "ab" * 32


def make_proc(tmp_path, procs):
    """procs: pid -> (namespace label, cgroup path). Same label, same inode."""
    proc = tmp_path / "proc"
    nsdir = tmp_path / "ns"
    nsdir.mkdir()
    for pid, (label, cg) in procs.items():
        d = proc / str(pid) / "ns"
        d.mkdir(parents=True)
        ns = nsdir / label
        if not ns.exists():
            ns.write_text("")
        os.link(ns, d / "mnt")
        (proc / str(pid) / "cgroup").write_text(f"1:cpu:/\n0::{cg}\n")
    return str(proc), {label: os.stat(nsdir / label).st_ino for label, _ in procs.values()}


@pytest.fixture
def fake(tmp_path):
    proc, ns = make_proc(tmp_path, {
        1: ("host", "/init.scope"),
        10: ("host", "/user.slice"),
        20: ("webns", "/web"),
        21: ("webns", "/web"),
        30: ("dbns", "/system.slice/docker-%s.scope" % DOCKER_ID),
        40: ("lonely", "/"),   # private mntns in the root cgroup: not a container
    })
    root = tmp_path / "root"
    cfg = root / "var/lib/docker/containers" / DOCKER_ID
    cfg.mkdir(parents=True)
    (cfg / "config.v2.json").write_text(json.dumps({"Name": "/db"}))
    return proc, ns, str(root)


def test_discover(fake):
    proc, ns, root = fake
    found = ctr.discover(proc, roots=(root,))
    assert [(c.name, c.runtime) for c in found] == [("db", "docker"), ("web", "cgroup")]
    web = found[1]
    assert web.id == "/web" and web.mntns_ids == {ns["webns"]} and sorted(web.pids) == [20, 21]
    assert found[0].id == DOCKER_ID and found[0].mntns_ids == {ns["dbns"]}


def test_select_by_name_id_path_and_mntns(fake):
    proc, ns, root = fake
    found = ctr.discover(proc, roots=(root,))
    assert [c.name for c in ctr.select(["db"], found)] == ["db"]
    assert [c.name for c in ctr.select([DOCKER_ID[:6]], found)] == ["db"]
    assert [c.name for c in ctr.select(["/web"], found)] == ["web"]
    assert [c.name for c in ctr.select([str(ns["webns"])], found)] == ["web"]
    assert [c.name for c in ctr.select(["web", "db", "web"], found)] == ["web", "db"]
    with pytest.raises(GadgetError, match="no container 'nope'"):
        ctr.select(["nope"], found)


def test_runtime_patterns():
    assert ctr.runtime_of("/kubepods/burstable/pod1/cri-containerd-%s.scope" % DOCKER_ID) == \
        ("containerd", DOCKER_ID)
    assert ctr.runtime_of("/machine.slice/libpod-%s.scope/container" % DOCKER_ID) == \
        ("podman", DOCKER_ID)
    assert ctr.runtime_of("/crio-%s.scope" % DOCKER_ID) == ("cri-o", DOCKER_ID)
    assert ctr.runtime_of("/docker/%s" % DOCKER_ID) == ("docker", DOCKER_ID)
    assert ctr.runtime_of("/mybox") == ("cgroup", "/mybox")


def test_enricher(fake):
    proc, ns, _ = fake
    e = ctr.Enricher(proc)
    assert e.lookup(ns["host"]) is None
    assert e.lookup(ns["webns"]).name == "web"
    assert e.lookup(12345) is None


def test_cgroup_v1_runtime_path_on_hybrid_hosts(tmp_path):
    proc = tmp_path / "proc"
    (proc / "5").mkdir(parents=True)
    (proc / "5" / "cgroup").write_text(
        "4:memory:/docker/%s\n1:name=systemd:/docker/%s\n0::/\n" % (DOCKER_ID, DOCKER_ID))
    assert ctr.cgroup_of(5, str(proc)) == "/docker/" + DOCKER_ID
    (proc / "6").mkdir()
    (proc / "6" / "cgroup").write_text("4:memory:/user.slice\n0::/web\n")
    assert ctr.cgroup_of(6, str(proc)) == "/web"
