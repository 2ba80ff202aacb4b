"""podman's containers from its own state, without running podman:

- libpod's database ``/var/lib/containers/storage/libpod/bolt_state.db`` (a
  bbolt file; podman 4's default): bucket ``ctr/<id>`` holds ``config`` (JSON:
  name, rootfsImageName, labels, pod) and ``state`` (JSON: state, pid);
  bucket ``pod/<id>`` holds ``config`` (name, labels) and ``state``
  (InfraContainerID: the pod's sandbox);
- containers/storage (names, image, pid file) for what the database does
  not give, or all of it when the database cannot be read (podman 5's
  sqlite database is not read: those hosts get the storage fields only).

A podman pod is the pod of its containers: its name and labels fill the
k8s pod fields (``podman kube play`` names a container ``<pod>-<name>``, so
the k8s container name is the rest), unless kubelet labels say otherwise.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import storage
from .bolt import BoltDB, BoltError, Bucket
from .record import Problems, Record, read_bytes, str_dict

RUNTIME = "podman"
DB = "var/lib/containers/storage/libpod/bolt_state.db"
DB_LIMIT = 512 << 20
RUNNING = 3   # libpod's ContainerStateRunning


def read(root: Path, problems: Problems) -> List[Record]:
    db_path = root / DB
    records = {r.id: r for r in _from_db(db_path, problems)}
    for e in storage.entries(root, problems):
        if e.manager != storage.LIBPOD:
            continue
        r = Record(RUNTIME, e.id, e.source, name=e.names[0] if e.names else "", image=e.image)
        r.set("cgroup_path", e.cgroup_path, e.spec_path)
        r.set("pid", e.pid, e.pid_path)
        if e.id in records:
            records[e.id].merge(r)
        else:
            records[e.id] = r
    return list(records.values())


def _json(value: Any, where: str, problems: Problems) -> Dict[str, Any]:
    if not isinstance(value, bytes):
        return {}
    try:
        out = json.loads(value)
    except ValueError as exc:
        problems.note(where, f"malformed JSON ({exc})")
        return {}
    return out if isinstance(out, dict) else {}


def _from_db(path: Path, problems: Problems) -> List[Record]:
    data = read_bytes(path, problems, DB_LIMIT)
    if data is None:
        return []
    try:
        db = BoltDB(data)
        pods = _pods(db, str(path), problems)
        return [r for r in (_container(cid, b, pods, str(path), problems)
                            for cid, b in _buckets(db.root.bucket(b"ctr"))) if r]
    except BoltError as exc:   # caught mid-write, or not a bbolt file
        problems.note(path, exc)
        return []


def _buckets(parent: Optional[Bucket]):
    for key, value in (parent.items() if parent is not None else ()):
        if isinstance(value, Bucket):
            yield key.decode(errors="replace"), value


def _pods(db: BoltDB, where: str, problems: Problems) -> Dict[str, Dict[str, Any]]:
    pods = {}
    for pid, b in _buckets(db.root.bucket(b"pod")):
        config = _json(b.get(b"config"), f"{where}: pod {pid}", problems)
        state = _json(b.get(b"state"), f"{where}: pod {pid}", problems)
        pods[pid] = {"name": str(config.get("name") or ""), "labels": str_dict(config.get("labels")),
                     "infra": str(state.get("InfraContainerID") or "")}
    return pods


def _container(cid: str, b: Bucket, pods: Dict[str, Dict[str, Any]], where: str,
               problems: Problems) -> Optional[Record]:
    config = _json(b.get(b"config"), f"{where}: container {cid}", problems)
    state = _json(b.get(b"state"), f"{where}: container {cid}", problems)
    if not config:
        return None
    running = state.get("state") == RUNNING and isinstance(state.get("pid"), int)
    r = Record(RUNTIME, cid, where, name=str(config.get("name") or ""),
               image=str(config.get("rootfsImageName") or ""),
               pid=state["pid"] if running else 0, labels=str_dict(config.get("labels")))
    pod = pods.get(str(config.get("pod") or ""))
    if pod is not None:
        r.sandbox = pod["infra"] == cid
        r.set("sandbox_id", pod["infra"], where)
        r.set_k8s("pod_name", pod["name"], where)
        r.set_pod_labels(pod["labels"], where)
        prefix = pod["name"] + "-"
        if not r.sandbox and r.name.startswith(prefix) and len(r.name) > len(prefix):
            r.set_k8s("container_name", r.name[len(prefix):], where)
    return r
