"""containerd's containers (plain ``ctr``/nerdctl ones and Kubernetes' through
its CRI plugin) from its own state:

- the running tasks' OCI bundles, ``/run/containerd/io.containerd.runtime.v2.task/
  <namespace>/<id>/``: ``config.json`` (annotations; the CRI plugin writes
  io.kubernetes.cri.{container-type, container-name, sandbox-id, sandbox-name,
  sandbox-namespace, sandbox-uid, image-name}; ``linux.cgroupsPath``) and
  ``init.pid``;
- the metadata store ``/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db``
  (a bbolt file: v1/<namespace>/containers/<id>/{image, labels}), read
  without the daemon. The CRI plugin puts the pod's labels on the sandbox
  container's labels, so pod labels come from there.

k3s keeps the same layout under its own directories (also read).
Docker's containers also run as tasks of containerd (namespace "moby"):
those records are docker's, and the docker reader's names win when both
describe a container.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

from .bolt import BoltDB, BoltError, Bucket
from .record import Problems, Record, list_dir, read_bytes, read_int, read_json, str_dict

RUNTIME = "containerd"
DOCKER = "docker"
# (task directory, metadata database) of containerd and of k3s' containerd
LAYOUTS = (
    ("run/containerd/io.containerd.runtime.v2.task",
     "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db"),
    ("run/k3s/containerd/io.containerd.runtime.v2.task",
     "var/lib/rancher/k3s/agent/containerd/io.containerd.metadata.v1.bolt/meta.db"),
)
CRI = "io.kubernetes.cri."
DB_LIMIT = 512 << 20   # a metadata store beyond this is not read
_META_CACHE: Dict[str, Tuple[Any, "Meta"]] = {}

Meta = Dict[Tuple[str, str], Tuple[str, Dict[str, str]]]   # (namespace, id) -> (image, labels)


def read(root: Path, problems: Problems) -> List[Record]:
    records: List[Record] = []
    for tasks, db in LAYOUTS:
        task_dir = root / tasks
        namespaces = list_dir(task_dir, problems)
        if not namespaces:
            continue
        meta = read_meta(root / db, problems)
        for ns in namespaces:
            for cid in list_dir(task_dir / ns, problems):
                r = _bundle(task_dir / ns / cid, problems, DOCKER if ns == "moby" else RUNTIME)
                if r is not None:
                    _add_meta(r, meta.get((ns, cid)), str(root / db))
                    records.append(r)
    return records


def _bundle(bundle: Path, problems: Problems, runtime: str) -> "Record | None":
    path = bundle / "config.json"
    spec = read_json(path, problems)
    if spec is None:
        return None
    source = str(path)
    notes = str_dict(spec.get("annotations"))
    linux = spec.get("linux") if isinstance(spec.get("linux"), dict) else {}
    cgroups = str(linux.get("cgroupsPath") or "")
    r = Record(runtime, bundle.name, source,
               name=notes.get(CRI + "container-name", ""),
               image=notes.get(CRI + "image-name", ""),
               cgroup_path=cgroups if cgroups.startswith("/") else "")
    pid = read_int(bundle / "init.pid")
    r.set("pid", pid, str(bundle / "init.pid"))
    r.sandbox = notes.get(CRI + "container-type") == "sandbox"
    r.set("sandbox_id", notes.get(CRI + "sandbox-id"), source)
    r.set_k8s("namespace", notes.get(CRI + "sandbox-namespace"), source)
    r.set_k8s("pod_name", notes.get(CRI + "sandbox-name"), source)
    r.set_k8s("pod_uid", notes.get(CRI + "sandbox-uid"), source)
    r.set_k8s("container_name", notes.get(CRI + "container-name"), source)
    return r


def _add_meta(r: Record, meta: "Tuple[str, Dict[str, str]] | None", source: str) -> None:
    if meta is None:
        r.set("name", r.id, r.source)
        return
    image, labels = meta
    r.set("image", image, source)
    if labels:
        r.labels = {**labels, **r.labels}
        r.sources.setdefault("labels", source)
        r.k8s_from_labels(labels, source)
        if r.sandbox:
            r.set_pod_labels(labels, source)
    r.set("name", r.id, r.source)   # ctr/nerdctl containers: the id is the name


def read_meta(path: Path, problems: Problems) -> Meta:
    """Image and labels of every container in containerd's metadata store
    (parsed again only when the file changed)."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        problems.note(path, exc)
        return {}
    key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _META_CACHE.get(str(path))
    if cached is not None and cached[0] == key:
        return cached[1]
    data = read_bytes(path, problems, DB_LIMIT)
    if data is None:
        return {}
    try:
        meta = _walk_meta(BoltDB(data))
    except BoltError as exc:   # caught mid-write, or not a bbolt file
        problems.note(path, exc)
        return {}
    _META_CACHE[str(path)] = (key, meta)
    return meta


def _walk_meta(db: BoltDB) -> Meta:
    out: Meta = {}
    v1 = db.root.bucket(b"v1")
    for ns, ns_bucket in (v1.items() if v1 is not None else ()):
        if not isinstance(ns_bucket, Bucket):
            continue
        containers = ns_bucket.bucket(b"containers")
        for cid, c in (containers.items() if containers is not None else ()):
            if not isinstance(c, Bucket):
                continue
            image = c.get(b"image")
            labels = c.bucket(b"labels")
            out[(ns.decode(errors="replace"), cid.decode(errors="replace"))] = (
                image.decode(errors="replace") if isinstance(image, bytes) else "",
                {k.decode(errors="replace"): v.decode(errors="replace")
                 for k, v in (labels.values().items() if labels is not None else ())})
    return out
