"""What a container runtime's state says about one container (a Record), the
list of what could not be read (Problems), and bounded, forgiving readers of
the state files.

A Record is a description, not proof of life: the /proc scan in
containers.py decides which containers run, and joins their
processes to Records by id, cgroup path or pid. Each field set on a Record
names its source (``sources``), so a user can tell what the runtime said
from what was guessed from a cgroup path.
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from pybpf import records

if TYPE_CHECKING:  # annotations only: pathlib stays off a gadget's start
    from pathlib import Path

JSON_LIMIT = 16 << 20   # state files beyond this are not read (containers.json of a busy host is ~1 MiB)

# label keys the kubelet puts on every container it creates (dockershim,
# cri-dockerd, containerd CRI and CRI-O alike)
POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
# label prefixes that are the runtime's or kubelet's bookkeeping, not the pod's own labels
_NOT_POD_LABELS = ("io.kubernetes.", "io.cri-containerd.", "io.containerd.", "annotation.",
                   "io.buildah.", "org.opencontainers.")

K8S_FIELDS = ("namespace", "pod_name", "pod_uid", "container_name")


class Record(records.Record):
    """One container as a runtime's state describes it."""

    __slots__ = ("runtime", "id", "source", "name", "image", "pid", "cgroup_path", "labels",
                 "sandbox", "sandbox_id", "k8s", "pod_labels", "sources")

    runtime: str
    id: str
    source: str  # the file or socket this record was read from
    name: str
    image: str
    pid: int
    cgroup_path: str
    labels: Dict[str, str]
    sandbox: bool  # a pod's infra/pause container
    sandbox_id: str  # for a pod's container: its sandbox's id
    k8s: Dict[str, str]  # K8S_FIELDS that are known
    pod_labels: Optional[Dict[str, str]]
    sources: Dict[str, str]  # field -> where it came from

    def __init__(
            self,
            runtime: str,
            id: str,
            source: str,
            name: str = "",
            image: str = "",
            pid: int = 0,
            cgroup_path: str = "",
            labels: Optional[Dict[str, str]] = None,
            sandbox: bool = False,
            sandbox_id: str = "",
            k8s: Optional[Dict[str, str]] = None,
            pod_labels: Optional[Dict[str, str]] = None,
            sources: Optional[Dict[str, str]] = None,
    ) -> None:
        self.runtime = runtime
        self.id = id
        self.source = source
        self.name = name
        self.image = image
        self.pid = pid
        self.cgroup_path = cgroup_path
        self.labels = dict() if labels is None else labels
        self.sandbox = sandbox
        self.sandbox_id = sandbox_id
        self.k8s = dict() if k8s is None else k8s
        self.pod_labels = pod_labels
        self.sources = dict() if sources is None else sources
        self.__post_init__()

    def __post_init__(self) -> None:
        for name in ("id", "name", "image", "pid", "cgroup_path", "labels"):
            if getattr(self, name):
                self.sources.setdefault(name, self.source)
        if self.labels:
            self.k8s_from_labels(self.labels, self.source)

    def set(self, name: str, value: Any, source: str) -> None:
        """Set a field unless it is already known; record where it came from."""
        if value and not getattr(self, name):
            setattr(self, name, value)
            self.sources[name] = source

    def set_k8s(self, key: str, value: Optional[str], source: str) -> None:
        if value and not self.k8s.get(key):
            self.k8s[key] = value
            self.sources[f"k8s.{key}"] = source

    def set_pod_labels(self, labels: Dict[str, str], source: str) -> None:
        if self.pod_labels is None and labels is not None:
            self.pod_labels = pod_labels_of(labels)
            self.sources["k8s.pod_labels"] = source

    def k8s_from_labels(self, labels: Dict[str, str], source: str) -> None:
        """The kubelet's io.kubernetes.* labels, wherever a runtime keeps them."""
        self.set_k8s("pod_name", labels.get(POD_NAME), source)
        self.set_k8s("namespace", labels.get(POD_NAMESPACE), source)
        self.set_k8s("pod_uid", labels.get(POD_UID), source)
        self.set_k8s("container_name", labels.get(CONTAINER_NAME), source)

    def merge(self, other: "Record") -> None:
        """Fill what this record lacks from another record of the same container."""
        for name in ("name", "image", "pid", "cgroup_path", "sandbox_id"):
            value = getattr(other, name)
            if value and not getattr(self, name):
                setattr(self, name, value)
                self.sources[name] = other.sources.get(name, other.source)
        for key, value in other.labels.items():
            self.labels.setdefault(key, value)
        for key in K8S_FIELDS:
            self.set_k8s(key, other.k8s.get(key), other.sources.get(f"k8s.{key}", other.source))
        if other.pod_labels is not None and self.pod_labels is None:
            self.pod_labels = other.pod_labels
            self.sources["k8s.pod_labels"] = other.sources.get("k8s.pod_labels", other.source)
        self.sandbox = self.sandbox or other.sandbox


def pod_labels_of(labels: Dict[str, str]) -> Dict[str, str]:
    """A pod's own labels from a sandbox's labels (minus the bookkeeping ones)."""
    return {k: v for k, v in labels.items() if not k.startswith(_NOT_POD_LABELS)}


def link_sandboxes(records: List[Record]) -> None:
    """Give each pod container its sandbox's pod labels and pod identity."""
    by_id = {r.id: r for r in records}
    for r in records:
        box = by_id.get(r.sandbox_id) if r.sandbox_id else None
        if box is None or box is r:
            continue
        if box.pod_labels is not None:
            r.set_pod_labels(box.pod_labels, box.sources.get("k8s.pod_labels", box.source))
        for key in ("namespace", "pod_name", "pod_uid"):
            r.set_k8s(key, box.k8s.get(key), box.sources.get(f"k8s.{key}", box.source))


class Problems:
    """What could not be read in one discovery: (where, why) pairs."""

    def __init__(self) -> None:
        self.items: List[str] = []

    def note(self, where: Any, why: Any) -> None:
        if isinstance(why, OSError) and why.strerror:
            why = why.strerror
        item = f"{where}: {why}"
        if item not in self.items:   # podman and CRI-O read the same store
            self.items.append(item)


def read_bytes(path: Path, problems: Problems, limit: int = JSON_LIMIT) -> Optional[bytes]:
    """A state file's bytes; None when it is missing (the container went
    away: not a problem) or unreadable or too large (a problem)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        problems.note(path, exc)
        return None
    if len(data) > limit:
        problems.note(path, f"larger than {limit} bytes")
        return None
    return data


def parse_json(data: bytes, where: Any, problems: Problems) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        problems.note(where, f"malformed JSON ({exc})")
        return None


def read_json(path: Path, problems: Problems, want: type = dict) -> Any:
    """A JSON state file of the expected top-level type, or None."""
    data = read_bytes(path, problems)
    if data is None:
        return None
    value = parse_json(data, path, problems)
    if value is not None and not isinstance(value, want):
        problems.note(path, f"expected a JSON {want.__name__}")
        return None
    return value


def read_int(path: Path) -> int:
    """A pid file's number, 0 when missing or not a number."""
    try:
        with open(path, "rb") as fh:
            return int(fh.read(32).strip() or 0)
    except (OSError, ValueError):
        return 0


def list_dir(path: Path, problems: Problems) -> List[str]:
    """Entries of a state directory; [] when the runtime is not installed
    (missing: silent) or the directory cannot be read (a problem)."""
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        problems.note(path, exc)
        return []


def str_dict(value: Any) -> Dict[str, str]:
    """A JSON object of labels as str -> str (anything else: empty)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}
