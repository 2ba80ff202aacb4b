"""containers/storage, the store podman and CRI-O share: per container, its
names and image (``<graph root>/<driver>-containers/containers.json``), its OCI
spec (``.../<id>/userdata/config.json``: annotations, cgroups path) and the
pid of its first process (``<run root>/<driver>-containers/<id>/userdata/pidfile``).

Who created a container is in its annotations: podman (libpod) writes
``io.container.manager=libpod``; CRI-O writes io.kubernetes.cri-o.* without it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

from .record import Problems, list_dir, read_int, read_json, str_dict

GRAPH_ROOT = "var/lib/containers/storage"
RUN_ROOT = "run/containers/storage"
LIBPOD = "libpod"


@dataclass
class Entry:
    """One container in containers/storage."""

    id: str
    source: str                     # containers.json it was listed in
    names: List[str] = field(default_factory=list)
    image: str = ""
    annotations: Dict[str, str] = field(default_factory=dict)
    spec_path: str = ""
    cgroup_path: str = ""
    pid: int = 0
    pid_path: str = ""

    @property
    def manager(self) -> str:
        return self.annotations.get("io.container.manager", "")


def entries(root: Path, problems: Problems) -> List[Entry]:
    """Every container containers/storage lists, with its spec and pid."""
    out: List[Entry] = []
    graph, run = root / GRAPH_ROOT, root / RUN_ROOT
    for store in list_dir(graph, problems):
        if not store.endswith("-containers"):
            continue
        listing = graph / store / "containers.json"
        for item in read_json(listing, problems, list) or ():
            if isinstance(item, dict) and item.get("id"):
                out.append(_entry(item, listing, graph / store, run / store, problems))
    return out


def _entry(item: dict, listing: Path, graph: Path, run: Path, problems: Problems) -> Entry:
    cid = str(item["id"])
    e = Entry(cid, str(listing), [str(n) for n in item.get("names") or () if n])
    try:
        meta = json.loads(item.get("metadata") or "{}")
    except ValueError:
        meta = {}
    if isinstance(meta, dict):
        e.image = str(meta.get("image-name") or "")
    spec_path = graph / cid / "userdata" / "config.json"
    spec = read_json(spec_path, problems)
    if spec is not None:
        e.spec_path = str(spec_path)
        e.annotations = str_dict(spec.get("annotations"))
        linux = spec.get("linux") if isinstance(spec.get("linux"), dict) else {}
        cgroups = str(linux.get("cgroupsPath") or "")
        e.cgroup_path = cgroups if cgroups.startswith("/") else ""
    pid_path = run / cid / "userdata" / "pidfile"
    e.pid = read_int(pid_path)
    e.pid_path = str(pid_path) if e.pid else ""
    return e
