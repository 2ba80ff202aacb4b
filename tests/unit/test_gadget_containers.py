"""Container discovery on a synthetic /proc and runtime state (no root, no
runtime): state files recorded on a hybrid-cgroup host running podman (a
container and a kube-played pod), containerd (ctr) and docker
(fixtures/containers/hybrid), and a cgroup v2 Kubernetes node with the
systemd driver built here in the runtimes' own formats (containerd CRI,
CRI-O, docker, podman)."""
import json
import os
import shutil
from pathlib import Path

import pytest
from boltwrite import bolt_bytes

from pybpf_gadgets.common import cgroups
from pybpf_gadgets.common import containers as ctr
from pybpf_gadgets.common.errors import GadgetError
from pybpf_gadgets.common.runtimes.bolt import BoltDB, BoltError

HERE = Path(__file__).parent
HYBRID = HERE / "fixtures" / "containers" / "hybrid"
DOCKER_ID = "ab" * 32

# the recorded host: pid -> container, as podman/ctr/docker inspect said
WEB1 = "bca282c58a042c7cf9706f6cccd01b12255f73ca44af53d5802956019c786b86"
CART = "55bb0cdd21422956fdce2fcc2b8da1f1b2c09de78ce83b916b067af1595a4965"
INFRA = "834af6444a3c08ac738f2874b0f9a4affb8922c4515ade2f2428f5a8b07d5a1c"
API = "6a4231720a9e0cc00bd99d23dbb041294abcdf8162a91ee04ae039936980d327"


def make_proc(tmp_path, procs):
    """procs: pid -> (namespace label, /proc/PID/cgroup text). Same label, same inode."""
    proc = tmp_path / "proc"
    nsdir = tmp_path / "ns"
    nsdir.mkdir(exist_ok=True)
    for pid, (label, text) in procs.items():
        d = proc / str(pid) / "ns"
        d.mkdir(parents=True)
        ns = nsdir / label
        if not ns.exists():
            ns.write_text("")
        os.link(ns, d / "mnt")
        (proc / str(pid) / "cgroup").write_text(text)
    return str(proc), {label: os.stat(nsdir / label).st_ino for label, _ in procs.values()}


def v2(path):
    return f"0::{path}\n"


# -- cgroup paths ------------------------------------------------------------
@pytest.mark.parametrize("path, runtime, cid, uid", [
    ("/docker/" + DOCKER_ID, "docker", DOCKER_ID, ""),
    ("/system.slice/docker-%s.scope" % DOCKER_ID, "docker", DOCKER_ID, ""),
    ("/libpod_parent/libpod-" + DOCKER_ID, "podman", DOCKER_ID, ""),
    ("/libpod_parent/%s/libpod-%s" % ("cd" * 32, DOCKER_ID), "podman", DOCKER_ID, ""),
    ("/machine.slice/libpod-%s.scope" % DOCKER_ID, "podman", DOCKER_ID, ""),
    ("/machine.slice/libpod-%s.scope/container" % DOCKER_ID, "podman", DOCKER_ID, ""),
    ("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-%s.scope" % DOCKER_ID,
     "podman", DOCKER_ID, ""),
    ("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0c5e8b8f_1e2a_4c7e_9d3a_"
     "8f6b2a1c4d5e.slice/cri-containerd-%s.scope" % DOCKER_ID, "containerd", DOCKER_ID,
     "0c5e8b8f-1e2a-4c7e-9d3a-8f6b2a1c4d5e"),
    ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0c5e8b8f_1e2a_4c7e_9d3a_"
     "8f6b2a1c4d5e.slice/crio-%s.scope" % DOCKER_ID, "cri-o", DOCKER_ID,
     "0c5e8b8f-1e2a-4c7e-9d3a-8f6b2a1c4d5e"),
    ("/kubepods/burstable/pod0c5e8b8f-1e2a-4c7e-9d3a-8f6b2a1c4d5e/" + DOCKER_ID, "", DOCKER_ID,
     "0c5e8b8f-1e2a-4c7e-9d3a-8f6b2a1c4d5e"),
    ("/kubepods.slice/kubepods-pod0c5e8b8f_1e2a_4c7e_9d3a_8f6b2a1c4d5e.slice/docker-%s.scope"
     % DOCKER_ID, "docker", DOCKER_ID, "0c5e8b8f-1e2a-4c7e-9d3a-8f6b2a1c4d5e"),
])
def test_runtime_cgroup_paths(path, runtime, cid, uid):
    assert cgroups.parse_path(path) == cgroups.CgroupMatch(runtime, cid, uid)


@pytest.mark.parametrize("path", [
    "/", "/user.slice", "/default/web", "/system.slice/libpod-conmon-%s.scope" % DOCKER_ID,
    "/system.slice/crio-conmon-%s.scope" % DOCKER_ID, "/docker/" + DOCKER_ID[:12],
])
def test_other_cgroup_paths_name_no_container(path):
    assert cgroups.parse_path(path) is None


def test_recorded_proc_cgroup_texts():
    """/proc/PID/cgroup of podman, ctr and docker containers on this hybrid host."""
    text = (HYBRID / "proc" / "10547.cgroup").read_text()
    assert cgroups.path_from_text(text) == "/libpod_parent/libpod-" + WEB1
    assert cgroups.path_from_text((HYBRID / "proc" / "11357.cgroup").read_text()) == "/default/i14db1"
    assert cgroups.path_from_text((HYBRID / "proc" / "11705.cgroup").read_text()) == "/docker/" + API


def test_v1_path_wins_over_an_empty_v2_line():
    text = "4:memory:/docker/%s\n1:name=systemd:/docker/%s\n0::/\n" % (DOCKER_ID, DOCKER_ID)
    assert cgroups.path_from_text(text) == "/docker/" + DOCKER_ID
    assert cgroups.path_from_text("4:memory:/user.slice\n0::/web\n") == "/web"
    assert cgroups.path_from_text("12:pids:/docker/%s\n" % DOCKER_ID) == "/docker/" + DOCKER_ID
    assert cgroups.path_from_text("garbage\n") == ""


# -- the recorded hybrid host ------------------------------------------------
@pytest.fixture
def hybrid(tmp_path):
    """The recorded host: its state files, and a /proc with the recorded
    cgroup texts (one extra process in web1, a host process)."""
    procs = {1: ("host", "0::/init.scope\n"), 99: ("host", "0::/user.slice\n")}
    for f in (HYBRID / "proc").iterdir():
        pid = int(f.stem)
        procs[pid] = (f"ns{pid}", f.read_text())
    procs[20000] = ("ns10547", (HYBRID / "proc" / "10547.cgroup").read_text())
    proc, ns = make_proc(tmp_path, procs)
    return proc, ns, str(HYBRID / "root")


def test_hybrid_host_discovery(hybrid):
    proc, ns, root = hybrid
    found = {c.name: c for c in ctr.discover(proc, roots=(root,), warn=None)}
    # the pod's infra container is a sandbox: not listed
    assert sorted(found) == ["i14api", "i14db1", "i14pod-cart", "i14web1"]
    web = found["i14web1"]
    assert (web.id, web.short_id, web.runtime, web.image) == (WEB1, WEB1[:12], "podman", "localhost/bb:1")
    assert web.pid == 10547 and web.pids == [10547, 20000] and web.mntns_id == ns["ns10547"]
    assert web.labels == {"app": "web"} and web.cgroup_path == "/libpod_parent/libpod-" + WEB1
    assert web.sources["name"].endswith("libpod/bolt_state.db")
    assert web.sources["cgroup_path"].endswith(WEB1 + "/userdata/config.json")
    cart = found["i14pod-cart"]
    assert cart.k8s == {"pod_name": "i14pod", "container_name": "cart"}
    assert cart.pod_labels == {"app": "cart", "tier": "front"}
    db = found["i14db1"]
    assert (db.id, db.runtime, db.image, db.pid) == ("i14db1", "containerd", "localhost/bb:1", 11357)
    assert db.labels["app"] == "db" and db.sources["image"].endswith("meta.db")
    assert db.sources["pid"].endswith("i14db1/init.pid")
    api = found["i14api"]
    assert (api.id, api.runtime, api.image, api.pid) == (API, "docker", "localhost/bb:1", 11705)
    assert api.labels["app"] == "api" and api.sources["name"].endswith(API + "/config.v2.json")


def test_hybrid_ig_fields(hybrid):
    proc, _, root = hybrid
    cart = next(c for c in ctr.discover(proc, roots=(root,), warn=None) if c.name == "i14pod-cart")
    assert cart.ig_fields() == {
        "runtime": {"containerName": "i14pod-cart", "containerId": CART,
                    "containerImageName": "localhost/bb:1", "runtimeName": "podman"},
        "k8s": {"namespace": "", "podName": "i14pod", "containerName": "cart",
                "podLabels": {"app": "cart", "tier": "front"}},
    }
    described = cart.describe()
    assert described["runtime"]["containerShortId"] == CART[:12]
    assert described["pid"] == 12410 and described["sources"]["k8s.pod_labels"]
    json.dumps(described)


def test_select_name_full_id_prefix(hybrid):
    proc, ns, root = hybrid
    found = ctr.discover(proc, roots=(root,), warn=None)
    for want in ("i14web1", WEB1, WEB1[:12], WEB1[:3], "/libpod_parent/libpod-" + WEB1,
                 str(ns["ns10547"])):
        assert [c.name for c in ctr.select([want], found)] == ["i14web1"], want
    assert [c.name for c in ctr.select(["i14db1", "6a42"], found)] == ["i14db1", "i14api"]
    with pytest.raises(GadgetError, match=r"no container 'nope' \(running: i14api, i14db1, "
                                          r"i14pod-cart, i14web1\)"):
        ctr.select(["nope"], found)


def test_ambiguous_prefix(hybrid, tmp_path):
    proc, _, root = hybrid
    found = ctr.discover(proc, roots=(root,), warn=None)
    twin = ctr.Container(WEB1[:4] + "f" * 60, "twin", "docker", "/docker/x")
    with pytest.raises(GadgetError, match="ambiguous: i14web1 .*, twin"):
        ctr.select([WEB1[:4]], found + [twin])
    assert [c.name for c in ctr.select([WEB1[:5]], found + [twin])] == ["i14web1"]


def test_runtime_filter(hybrid):
    proc, _, root = hybrid
    found = ctr.discover(proc, roots=(root,), warn=None)
    only = ctr.ContainerFilter.parse(runtimes="docker, containerd")
    assert [c.name for c in only.apply(found)] == ["i14api", "i14db1"]
    assert not ctr.ContainerFilter.parse() and only
    with pytest.raises(GadgetError, match="--runtimes 'rkt': unknown runtime rkt"):
        ctr.ContainerFilter.parse(runtimes="rkt")


def test_k8s_filters(node):
    proc, _, root = node
    found = ctr.discover(proc, roots=(root,), warn=None)

    def names(**kw):
        return sorted(c.name for c in ctr.ContainerFilter.parse(**kw).apply(found))
    assert names(namespace="shop") == ["nginx"]
    assert names(pod_name="db-0") == ["postgres"]
    assert names(container_name="postgres", namespace="data") == ["postgres"]
    assert names(selector="app=web") == ["nginx"]
    assert names(selector="app=db,tier=data") == ["postgres"]
    assert names(selector="app=db,tier=web") == []
    assert names(namespace="shop", runtimes="cri-o") == []
    with pytest.raises(GadgetError, match="--k8s-selector 'app'"):
        ctr.ContainerFilter.parse(selector="app")


def test_without_state_the_cgroup_path_speaks(hybrid, tmp_path):
    """No state readable: ids, runtimes and short names from the cgroup path,
    and the sources say so."""
    proc, _, _ = hybrid
    empty = tmp_path / "empty"
    empty.mkdir()
    found = {c.id: c for c in ctr.discover(proc, roots=(str(empty),), warn=None)}
    web = found[WEB1]
    assert (web.name, web.runtime, web.image) == (WEB1[:12], "podman", "")
    assert web.sources == {"id": "cgroup path", "name": "cgroup path", "runtime": "cgroup path"}
    assert found[API].runtime == "docker"
    assert found["/default/i14db1"].runtime == "cgroup"   # ctr's path names no runtime
    assert found["/default/i14db1"].name == "i14db1"
    # without the libpod database the infra container cannot be told apart
    assert INFRA in found


# -- a cgroup v2 Kubernetes node (systemd driver) --------------------------------
POD_UID = "0c5e8b8f-1e2a-4c7e-9d3a-8f6b2a1c4d5e"
SLICE = ("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
         + POD_UID.replace("-", "_") + ".slice")
CD_BOX, CD_APP = "1a" * 32, "2b" * 32
CRIO_BOX, CRIO_APP = "3c" * 32, "4d" * 32
DOCKER_SYS = "5e" * 32
PODMAN_SYS = "6f" * 32


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data))


def cri_notes(kind, **extra):
    notes = {"io.kubernetes.cri.container-type": kind,
             "io.kubernetes.cri.sandbox-id": CD_BOX,
             "io.kubernetes.cri.sandbox-name": "web-7d9f8",
             "io.kubernetes.cri.sandbox-namespace": "shop",
             "io.kubernetes.cri.sandbox-uid": POD_UID}
    notes.update(extra)
    return notes


@pytest.fixture
def node(tmp_path):
    root = tmp_path / "root"
    tasks = root / "run/containerd/io.containerd.runtime.v2.task/k8s.io"
    write(tasks / CD_BOX / "config.json", {"annotations": cri_notes("sandbox"), "linux": {
        "cgroupsPath": "kubepods-besteffort-pod%s.slice:cri-containerd:%s" % (POD_UID, CD_BOX)}})
    write(tasks / CD_BOX / "init.pid", "300")
    write(tasks / CD_APP / "config.json", {"annotations": cri_notes(
        "container", **{"io.kubernetes.cri.container-name": "nginx",
                        "io.kubernetes.cri.image-name": "docker.io/library/nginx:1.25"})})
    write(tasks / CD_APP / "init.pid", "310")
    write(root / "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db", bolt_bytes({b"v1": {
        b"k8s.io": {b"containers": {
            CD_BOX.encode(): {b"image": b"registry.k8s.io/pause:3.9", b"labels": {
                b"app": b"web", b"pod-template-hash": b"7d9f8", b"io.cri-containerd.kind": b"sandbox",
                b"io.kubernetes.pod.name": b"web-7d9f8", b"io.kubernetes.pod.namespace": b"shop",
                b"io.kubernetes.pod.uid": POD_UID.encode()}},
            CD_APP.encode(): {b"image": b"docker.io/library/nginx:1.25", b"labels": {
                b"io.cri-containerd.kind": b"container", b"io.kubernetes.container.name": b"nginx",
                b"io.kubernetes.pod.name": b"web-7d9f8", b"io.kubernetes.pod.namespace": b"shop",
                b"io.kubernetes.pod.uid": POD_UID.encode()}},
        }}}}))
    # CRI-O, in containers/storage
    store = root / "var/lib/containers/storage/overlay-containers"
    write(store / "containers.json", [
        {"id": CRIO_BOX, "names": ["k8s_POD_db-0_data_%s_0" % POD_UID],
         "metadata": json.dumps({"image-name": "registry.k8s.io/pause:3.9"})},
        {"id": CRIO_APP, "names": ["k8s_postgres_db-0_data_%s_0" % POD_UID],
         "metadata": json.dumps({"image-name": "docker.io/library/postgres:16"})},
        {"id": PODMAN_SYS, "names": ["toolbox"],
         "metadata": json.dumps({"image-name": "localhost/bb:1"})},
    ])
    kube = {"io.kubernetes.pod.name": "db-0", "io.kubernetes.pod.namespace": "data",
            "io.kubernetes.pod.uid": POD_UID}
    write(store / CRIO_BOX / "userdata/config.json", {"annotations": {
        **kube, "io.kubernetes.cri-o.ContainerType": "sandbox",
        "io.kubernetes.cri-o.Labels": json.dumps({**kube, "app": "db", "tier": "data"})}})
    write(store / CRIO_APP / "userdata/config.json", {"annotations": {
        **kube, "io.kubernetes.container.name": "postgres",
        "io.kubernetes.cri-o.ContainerType": "container",
        "io.kubernetes.cri-o.SandboxID": CRIO_BOX,
        "io.kubernetes.cri-o.ImageName": "docker.io/library/postgres:16",
        "io.kubernetes.cri-o.Labels": json.dumps({**kube, "io.kubernetes.container.name": "postgres"})}})
    write(store / PODMAN_SYS / "userdata/config.json", {"annotations": {
        "io.container.manager": "libpod"},
        "linux": {"cgroupsPath": "/machine.slice/libpod-%s.scope" % PODMAN_SYS}})
    write(root / "run/containers/storage/overlay-containers" / PODMAN_SYS / "userdata/pidfile", "600")
    write(root / "var/lib/docker/containers" / DOCKER_SYS / "config.v2.json", {
        "ID": DOCKER_SYS, "Name": "/registry", "State": {"Running": True, "Pid": 500},
        "Config": {"Image": "registry:2", "Labels": {"team": "infra"}}})
    proc, ns = make_proc(tmp_path, {
        1: ("host", v2("/init.scope")),
        300: ("cdbox", v2(SLICE + "/cri-containerd-%s.scope" % CD_BOX)),
        310: ("cdapp", v2(SLICE + "/cri-containerd-%s.scope" % CD_APP)),
        400: ("criobox", v2(SLICE + "/crio-%s.scope" % CRIO_BOX)),
        410: ("crioapp", v2(SLICE + "/crio-%s.scope" % CRIO_APP)),
        500: ("registry", v2("/system.slice/docker-%s.scope" % DOCKER_SYS)),
        600: ("toolbox", v2("/machine.slice/libpod-%s.scope/container" % PODMAN_SYS)),
    })
    return proc, ns, str(root)


def test_v2_node_discovery(node):
    proc, ns, root = node
    found = {c.id: c for c in ctr.discover(proc, roots=(root,), warn=None)}
    assert set(found) == {CD_APP, CRIO_APP, DOCKER_SYS, PODMAN_SYS}   # sandboxes left out
    nginx = found[CD_APP]
    assert (nginx.name, nginx.runtime, nginx.image, nginx.pid) == \
        ("nginx", "containerd", "docker.io/library/nginx:1.25", 310)
    assert nginx.k8s == {"namespace": "shop", "pod_name": "web-7d9f8", "pod_uid": POD_UID,
                         "container_name": "nginx"}
    assert nginx.pod_labels == {"app": "web", "pod-template-hash": "7d9f8"}
    assert nginx.sources["k8s.pod_labels"].endswith("meta.db")
    assert nginx.mntns_id == ns["cdapp"]
    pg = found[CRIO_APP]
    assert (pg.name, pg.runtime, pg.image) == ("postgres", "cri-o", "docker.io/library/postgres:16")
    assert pg.k8s == {"namespace": "data", "pod_name": "db-0", "pod_uid": POD_UID,
                      "container_name": "postgres"}
    assert pg.pod_labels == {"app": "db", "tier": "data"}
    reg = found[DOCKER_SYS]
    assert (reg.name, reg.runtime, reg.image, reg.pid, reg.labels) == \
        ("registry", "docker", "registry:2", 500, {"team": "infra"})
    tb = found[PODMAN_SYS]
    assert (tb.name, tb.runtime, tb.image, tb.pid) == ("toolbox", "podman", "localhost/bb:1", 600)
    assert tb.sources["pid"].endswith("/userdata/pidfile")


def test_v2_node_without_state_keeps_the_pod_uid(node, tmp_path):
    proc, _, _ = node
    found = {c.id: c for c in ctr.discover(proc, roots=(str(tmp_path / "none"),), warn=None)}
    assert found[CD_APP].runtime == "containerd" and found[CD_APP].k8s == {"pod_uid": POD_UID}
    assert found[CD_APP].sources["k8s.pod_uid"] == "cgroup path"
    assert found[CRIO_APP].runtime == "cri-o"


# -- bad input ---------------------------------------------------------------
def test_malformed_state_is_said_once_and_the_rest_is_read(node):
    proc, _, root = node
    root = Path(root)
    (root / "var/lib/docker/containers" / DOCKER_SYS / "config.v2.json").write_text("{not json")
    (root / "var/lib/containers/storage/overlay-containers" / CRIO_APP /
     "userdata/config.json").write_text("[1, 2")
    said = []
    found = {c.id: c for c in ctr.discover(proc, roots=(str(root),), warn=said.append)}
    assert len(said) == 2
    assert any("config.v2.json: malformed JSON" in s for s in said)
    assert any(CRIO_APP + "/userdata/config.json: malformed JSON" in s for s in said)
    # what could be read still is; the broken ones fall back to their cgroup path
    assert found[CD_APP].name == "nginx"
    assert found[DOCKER_SYS].runtime == "docker" and found[DOCKER_SYS].name == DOCKER_SYS[:12]
    assert found[CRIO_APP].runtime == "cri-o"


def test_warn_once_on_stderr(capsys):
    ctr._said.discard("x: y")
    ctr.warn_once("x: y")
    ctr.warn_once("x: y")
    assert capsys.readouterr().err == "pybpf: containers: cannot read x: y\n"


def test_unreadable_state_dir_is_a_problem(node, monkeypatch):
    proc, _, root = node
    real_listdir = os.listdir
    docker_dir = str(Path(root) / "var/lib/docker/containers")

    def listdir(path):
        if str(path) == docker_dir:
            raise PermissionError(13, "Permission denied")
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    said = []
    found = {c.id: c for c in ctr.discover(proc, roots=(root,), warn=said.append)}
    assert said == [f"{docker_dir}: Permission denied"]
    assert found[CD_APP].name == "nginx"


def test_docker_socket_used_when_state_unreadable(tmp_path):
    """State directory missing and a socket that is not a docker daemon:
    one problem noted, nothing invented."""
    import socket

    from pybpf_gadgets.common.runtimes import docker
    from pybpf_gadgets.common.runtimes.record import Problems
    root = tmp_path / "r"
    (root / "run").mkdir(parents=True)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "run/docker.sock"))   # bound, never listening: connection refused
    try:
        problems = Problems()
        assert docker.read(root, problems) == []
        assert len(problems.items) == 1 and "docker.sock" in problems.items[0]
    finally:
        sock.close()


def test_container_vanishing_mid_lookup(node):
    """A process whose /proc entries disappear between listing and reading is skipped."""
    proc, _, root = node
    shutil.rmtree(Path(proc) / "410")
    os.mkdir(Path(proc) / "410")   # listed, but its ns/cgroup are gone
    found = {c.id for c in ctr.discover(proc, roots=(root,), warn=None)}
    assert CRIO_APP not in found and CD_APP in found


def test_bolt_reader_rejects_damage():
    good = bolt_bytes({b"a": {b"k": b"v"}})
    assert BoltDB(good).root.bucket(b"a").values() == {b"k": b"v"}
    with pytest.raises(BoltError):
        BoltDB(b"\0" * 8192)
    with pytest.raises(BoltError):
        list(BoltDB(good[:3 * 4096]).root.items())   # root page cut off
    torn = bytearray(good)
    torn[3 * 4096 + 16 + 4:3 * 4096 + 16 + 8] = (10 ** 6).to_bytes(4, "little")   # a key far outside
    with pytest.raises(BoltError):
        list(BoltDB(bytes(torn)).root.items())


def test_bolt_reader_on_recorded_databases():
    db = BoltDB((HYBRID / "root/var/lib/containers/storage/libpod/bolt_state.db").read_bytes())
    assert db.root.bucket(b"name-registry").values()[b"i14web1"] == WEB1.encode()
    meta = BoltDB((HYBRID / "root/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db")
                  .read_bytes())
    assert meta.root.bucket(b"v1", b"default", b"containers", b"i14db1").values()[b"image"] == \
        b"localhost/bb:1"


def test_enricher(hybrid):
    proc, ns, root = hybrid
    e = ctr.Enricher(proc, roots=(root,))
    assert e.lookup(ns["host"]) is None
    assert e.lookup(ns["ns10547"]).name == "i14web1"
    assert e.lookup(12345) is None


# -- the Enricher as containers come and go -------------------------------------
def test_enricher_learns_new_containers_at_once(tmp_path):
    proc, ns = make_proc(tmp_path, {1: ("host", v2("/init.scope")),
                                    20: ("a", v2("/docker/" + DOCKER_ID))})
    e = ctr.Enricher(proc, roots=(str(tmp_path / "none"),))
    assert e.lookup(ns["a"]).id == DOCKER_ID
    late = "cd" * 32
    d = Path(proc) / "30" / "ns"
    d.mkdir(parents=True)
    (tmp_path / "ns" / "b").write_text("")
    os.link(tmp_path / "ns" / "b", d / "mnt")
    (Path(proc) / "30" / "cgroup").write_text(v2("/docker/" + late))
    assert e.lookup(os.stat(tmp_path / "ns" / "b").st_ino).id == late   # no waiting
    # a namespace that is no container is looked up once, then remembered
    calls = []
    e.rescan = lambda: calls.append(1)
    assert e.lookup(424242) is None and e.lookup(424242) is None
    assert calls == [1]


def test_the_first_lookup_discovers_once(tmp_path):
    """The first event from a namespace that is no container: the discovery
    the Enricher makes then already answers the miss; no second one."""
    proc, _ = make_proc(tmp_path, {1: ("host", v2("/init.scope")),
                                   20: ("a", v2("/docker/" + DOCKER_ID))})
    e = ctr.Enricher(proc, roots=(str(tmp_path / "none"),))
    calls = []
    real = e.rescan
    e.rescan = lambda: (calls.append(1), real())
    assert e.lookup(424242) is None and e.lookup(424242) is None
    assert calls == [1]


def test_enricher_notices_a_reused_namespace_number(tmp_path):
    """The kernel gives a dead namespace's number to the next one: a new pid
    in another cgroup makes the Enricher look again."""
    proc, ns = make_proc(tmp_path, {1: ("host", v2("/init.scope")),
                                    20: ("m", v2("/docker/" + DOCKER_ID))})
    e = ctr.Enricher(proc, roots=(str(tmp_path / "none"),))
    assert e.lookup(ns["m"], 20).id == DOCKER_ID
    other = "cd" * 32
    shutil.rmtree(Path(proc) / "20")              # the container is gone...
    d = Path(proc) / "30" / "ns"
    d.mkdir(parents=True)
    os.link(tmp_path / "ns" / "m", d / "mnt")      # ...and its number is reused
    (Path(proc) / "30" / "cgroup").write_text(v2("/docker/" + other))
    assert e.lookup(ns["m"], 30).id == other
    # a host service's namespace: looked up once, then remembered per cgroup
    (Path(proc) / "40" / "ns").mkdir(parents=True)
    (tmp_path / "ns" / "svc").write_text("")
    os.link(tmp_path / "ns" / "svc", Path(proc) / "40" / "ns" / "mnt")
    (Path(proc) / "40" / "cgroup").write_text(v2("/"))
    svc = os.stat(tmp_path / "ns" / "svc").st_ino
    calls = []
    real = e.rescan
    e.rescan = lambda: (calls.append(1), real())
    assert e.lookup(svc, 40) is None and e.lookup(svc, 40) is None and calls == [1]


def test_runtime_names_are_the_readers():
    from pybpf_gadgets.common import runtimes
    assert tuple(runtimes.readers()) == runtimes.NAMES


def test_a_host_without_containers_reads_no_runtime_state(hybrid, tmp_path):
    """Only host processes: nothing to join to, so no runtime's state is read (or
    its reader imported: a subprocess, as this process may have them already)."""
    import subprocess
    import sys
    _, _, root = hybrid
    (tmp_path / "hostonly").mkdir()
    proc, _ = make_proc(tmp_path / "hostonly", {1: ("host", "0::/init.scope\n"),
                                                 2: ("host", "0::/user.slice\n")})
    code = ("import sys; from pybpf_gadgets.common import containers as ctr; "
            f"found = ctr.discover({proc!r}, roots=({root!r},), warn=print); "
            "print(found, sorted(m for m in sys.modules if m.startswith("
            "'pybpf_gadgets.common.runtimes.') and not m.endswith('.record')))")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert got.stdout.strip() == "[] []"
