"""The containers running on this host, as a gadget sees them.

Which containers run is decided from /proc: processes outside the host's
mount namespace, grouped by cgroup. What they are (name, image, runtime,
Kubernetes pod) comes from the runtimes' own state (.runtimes:
docker, containerd and its CRI, CRI-O, podman), joined to each group by the
container id its cgroup path names, by the cgroup path the runtime
recorded, or by the pid it recorded. A group no runtime describes is still
a container: its runtime and id come from the cgroup path (or "cgroup" and
the path itself, for a bare cgroup), and ``sources`` says so.

``discover()`` returns the containers now running; ``select(names)`` resolves
what a user typed (name, full id or unique id prefix, cgroup path, mount-ns
id); ``Enricher`` maps an event's mntns id to its container, re-scanning
when it meets an unknown namespace. What could not be read is said once on
stderr (or handed to the caller's ``warn``), and discovery goes on with the
rest.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Set

from . import runtimes
from .cgroups import cgroup2_root, cgroup_id, cgroup_of, parse_path
from .errors import GadgetError
from .runtimes.record import Problems, Record

__all__ = ["Container", "discover", "select", "Enricher", "cgroup2_root", "cgroup_of",
           "mntns_of", "host_mntns_id", "RUNTIMES"]

RUNTIMES = runtimes.NAMES + ("cgroup",)
CGROUP_SOURCE = "cgroup path"


@dataclass
class Container:
    """One running container: its processes' mount namespaces, its cgroup,
    and what its runtime says about it."""

    id: str
    name: str
    runtime: str
    cgroup_path: str
    cgroup_id: int = 0
    mntns_ids: Set[int] = field(default_factory=set)
    pids: List[int] = field(default_factory=list)
    image: str = ""
    pid: int = 0                      # its first process (the runtime's, else the lowest pid seen)
    mntns_id: int = 0                 # that process's mount namespace
    labels: Dict[str, str] = field(default_factory=dict)
    k8s: Dict[str, str] = field(default_factory=dict)    # namespace, pod_name, pod_uid, container_name
    pod_labels: Dict[str, str] = field(default_factory=dict)
    sources: Dict[str, str] = field(default_factory=dict)  # field -> file/socket, or "cgroup path"

    @property
    def short_id(self) -> str:
        """The 12-character id runtimes print (a bare cgroup's id is its path)."""
        return self.id[:12] if self.runtime != "cgroup" else self.id

    def to_dict(self) -> Dict[str, str]:
        return {"name": self.name, "id": self.id, "runtime": self.runtime}

    def ig_fields(self) -> Dict[str, Dict[str, Any]]:
        """Enrichment in Inspektor Gadget's shape: ``runtime`` and ``k8s`` objects."""
        return {
            "runtime": {"containerName": self.name, "containerId": self.id,
                        "containerImageName": self.image, "runtimeName": self.runtime},
            "k8s": {"namespace": self.k8s.get("namespace", ""),
                    "podName": self.k8s.get("pod_name", ""),
                    "containerName": self.k8s.get("container_name", ""),
                    "podLabels": dict(self.pod_labels)},
        }

    def describe(self) -> Dict[str, Any]:
        """Everything discovery knows, for ``pybpf containers -o json``."""
        out = self.ig_fields()
        out["runtime"]["containerShortId"] = self.short_id
        out["k8s"]["podUid"] = self.k8s.get("pod_uid", "")
        out.update({"pid": self.pid, "pids": sorted(self.pids), "mntns_id": self.mntns_id,
                    "mntns_ids": sorted(self.mntns_ids), "cgroup_path": self.cgroup_path,
                    "cgroup_id": self.cgroup_id, "labels": dict(self.labels),
                    "sources": dict(self.sources)})
        return out


def mntns_of(pid: int, proc: str = "/proc") -> int:
    """The mount namespace inode number of a process."""
    return os.stat(f"{proc}/{pid}/ns/mnt").st_ino


def host_mntns_id(proc: str = "/proc") -> int:
    """The host's mount namespace: pid 1's, or ours when pid 1 is hidden."""
    try:
        return mntns_of(1, proc)
    except OSError:
        return mntns_of(os.getpid(), proc)


_said: Set[str] = set()


def warn_once(message: str) -> None:
    """Say a discovery problem on stderr, once per process."""
    if message not in _said:
        _said.add(message)
        sys.stderr.write(f"pybpf: containers: cannot read {message}\n")


def _scan(proc: str, host_mntns: int) -> Dict[str, Dict[int, int]]:
    """cgroup path -> {pid: mntns id} of every process outside the host's
    mount namespace that is in a cgroup of its own."""
    groups: Dict[str, Dict[int, int]] = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            ns = mntns_of(pid, proc)
            if ns == host_mntns:
                continue
            path = cgroup_of(pid, proc)
        except (OSError, ValueError):
            continue  # exited meanwhile, or a kernel thread
        if path not in ("", "/"):  # a private mount namespace alone is not a container
            groups.setdefault(path, {})[pid] = ns
    return groups


def _record_for(path: str, members: Dict[int, int], by_id: Dict[str, Record],
                by_cgroup: Dict[str, Record], by_pid: Dict[int, Record]) -> Optional[Record]:
    match = parse_path(path)
    r = by_id.get(match.id) if match is not None else None
    if r is None:
        r = by_cgroup.get(path)
    if r is None and match is None:  # a recorded pid is trusted only where the path names no id
        r = next((by_pid[p] for p in sorted(members) if p in by_pid), None)
    return r


def _container(path: str, members: Dict[int, int], record: Optional[Record],
               cg_root: Optional[Path]) -> Container:
    match = parse_path(path)
    if record is not None:
        c = Container(record.id, record.name or record.id[:12], record.runtime, path,
                      image=record.image, labels=dict(record.labels), k8s=dict(record.k8s),
                      pod_labels=dict(record.pod_labels or {}), sources=dict(record.sources))
        c.sources.setdefault("name", record.sources.get("id", record.source))
        c.sources.setdefault("runtime", record.source)
        c.pid = record.pid if record.pid in members else 0
    elif match is not None:
        c = Container(match.id, match.id[:12], match.runtime or "cgroup", path)
        c.sources.update(id=CGROUP_SOURCE, name=CGROUP_SOURCE, runtime=CGROUP_SOURCE)
    else:
        c = Container(path, path.rstrip("/").rsplit("/", 1)[-1] or "/", "cgroup", path)
        c.sources.update(id=CGROUP_SOURCE, name=CGROUP_SOURCE, runtime=CGROUP_SOURCE)
    if match is not None and match.pod_uid and not c.k8s.get("pod_uid"):
        c.k8s["pod_uid"] = match.pod_uid
        c.sources["k8s.pod_uid"] = CGROUP_SOURCE
    if not c.pid:
        c.pid = min(members)
    c.pids = sorted(members)
    c.mntns_ids = set(members.values())
    c.mntns_id = members[c.pid]
    c.cgroup_id = cgroup_id(path, cg_root)
    return c


def discover(proc: str = "/proc", host_mntns: Optional[int] = None,
             roots: Iterable[str] = ("/",), runtimes_wanted: Optional[Iterable[str]] = None,
             warn: Optional[Callable[[str], None]] = warn_once) -> List[Container]:
    """Every container running now (pods' sandbox containers excluded),
    sorted by name. ``roots``: where the runtimes' state directories are
    (``/`` on the host); ``runtimes_wanted``: keep only these runtimes."""
    if host_mntns is None:
        host_mntns = host_mntns_id(proc)
    problems = Problems()
    by_id: Dict[str, Record] = {}
    for root in roots:
        for cid, r in runtimes.read_all(Path(root), problems).items():
            by_id.setdefault(cid, r)
    by_cgroup = {r.cgroup_path: r for r in by_id.values() if r.cgroup_path}
    by_pid = {r.pid: r for r in by_id.values() if r.pid}
    cg_root = cgroup2_root()
    found = []
    for path, members in _scan(proc, host_mntns).items():
        record = _record_for(path, members, by_id, by_cgroup, by_pid)
        if record is not None and record.sandbox:
            continue
        found.append(_container(path, members, record, cg_root))
    if runtimes_wanted is not None:
        wanted = set(runtimes_wanted)
        found = [c for c in found if c.runtime in wanted]
    if warn is not None:
        for message in problems.items:
            warn(message)
    return sorted(found, key=lambda c: (c.name, c.id))


def _matches(c: Container, want: str, cg_root: Optional[Path]) -> bool:
    if want in (c.name, c.id, c.cgroup_path):
        return True
    if cg_root is not None and want.rstrip("/") == str(cg_root) + c.cgroup_path:
        return True
    if "/" in want and "/" + want.strip("/") == c.cgroup_path:
        return True
    return want.isdigit() and int(want) in c.mntns_ids


def _by_prefix(want: str, containers: List[Container]) -> List[Container]:
    """Containers whose runtime id starts with ``want``; more than one is an error."""
    hits = [c for c in containers if c.runtime != "cgroup" and c.id.startswith(want)]
    if len({c.id for c in hits}) > 1:
        raise GadgetError(f"container id prefix {want!r} is ambiguous: "
                          + ", ".join(f"{c.name} ({c.short_id})" for c in hits))
    return hits


def running_names(containers: List[Container]) -> str:
    return ", ".join(c.name for c in containers) or "none"


def select(names: Iterable[str], containers: Optional[List[Container]] = None) -> List[Container]:
    """Resolve user-given containers (name, full id or unique id prefix,
    cgroup path, mntns id); one naming none is a GadgetError listing the
    running containers by name."""
    containers = discover() if containers is None else containers
    cg_root = cgroup2_root()
    out: List[Container] = []
    for want in names:
        found = [c for c in containers if _matches(c, want, cg_root)] or _by_prefix(want, containers)
        if not found:
            raise GadgetError(f"no container {want!r} (running: {running_names(containers)})")
        out.extend(c for c in found if c not in out)
    return out


class Enricher:
    """Maps mount-namespace ids to containers; rescans (at most once a
    second) when it meets an id it does not know."""

    def __init__(self, proc: str = "/proc", rescan_interval: float = 1.0,
                 roots: Iterable[str] = ("/",)) -> None:
        self.proc = proc
        self.roots = tuple(roots)
        self.host_mntns = host_mntns_id(proc)
        self.interval = rescan_interval
        self._by_mntns: Dict[int, Container] = {}
        self._last = 0.0
        self.rescan()

    def rescan(self) -> None:
        self._last = time.monotonic()
        for c in discover(self.proc, self.host_mntns, self.roots):
            for ns in c.mntns_ids:
                self._by_mntns[ns] = c

    def lookup(self, mntns_id: int) -> Optional[Container]:
        if mntns_id == self.host_mntns or not mntns_id:
            return None
        c = self._by_mntns.get(mntns_id)
        if c is None and time.monotonic() - self._last >= self.interval:
            self.rescan()
            c = self._by_mntns.get(mntns_id)
        return c
