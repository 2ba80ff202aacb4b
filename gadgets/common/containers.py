"""Local container discovery from what the host already has: /proc/*/ns/mnt,
/proc/*/cgroup (cgroup v2 paths of docker, containerd, cri-o, podman) and the
runtimes' state directories for names. A process in a private mount
namespace inside its own cgroup (no runtime at all) is a container too,
named after its cgroup directory.

``discover()`` returns the containers now running; ``select(name)`` resolves
what a user typed (name, id or id prefix, cgroup path, mount-ns id);
``Enricher`` maps an event's mntns id to its container, re-scanning when it
meets an unknown namespace.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

from .errors import GadgetError

# (runtime, pattern on the last cgroup path components capturing the id)
_RUNTIME_PATTERNS = (
    ("docker", re.compile(r"docker-([0-9a-f]{64})\.scope$")),
    ("docker", re.compile(r"/docker/([0-9a-f]{64})$")),
    ("podman", re.compile(r"libpod-([0-9a-f]{64})\.scope(?:/container)?$")),
    ("cri-o", re.compile(r"crio-([0-9a-f]{64})\.scope$")),
    ("containerd", re.compile(r"cri-containerd-([0-9a-f]{64})\.scope$")),
    ("containerd", re.compile(r"/kubepods[^ ]*/([0-9a-f]{64})$")),
)


@dataclass
class Container:
    """One container: a mount namespace (or several) and its cgroup."""

    id: str
    name: str
    runtime: str
    cgroup_path: str
    cgroup_id: int = 0
    mntns_ids: Set[int] = field(default_factory=set)
    pids: List[int] = field(default_factory=list)

    def to_dict(self) -> Dict[str, str]:
        return {"name": self.name, "id": self.id, "runtime": self.runtime}


def cgroup2_root() -> Optional[Path]:
    """Where the cgroup v2 hierarchy is mounted (unified or hybrid layout)."""
    try:
        with open("/proc/self/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 2 and parts[2] == "cgroup2":
                    return Path(parts[1])
    except OSError:
        pass
    return None


def mntns_of(pid: int, proc: str = "/proc") -> int:
    """The mount namespace inode number of a process."""
    return os.stat(f"{proc}/{pid}/ns/mnt").st_ino


def host_mntns_id(proc: str = "/proc") -> int:
    """The host's mount namespace: pid 1's, or ours when pid 1 is hidden."""
    try:
        return mntns_of(1, proc)
    except OSError:
        return mntns_of(os.getpid(), proc)


def cgroup_of(pid: int, proc: str = "/proc") -> str:
    """The cgroup path of a process: its cgroup v2 path, unless that is the
    root and a cgroup v1 hierarchy (hybrid or v1-only hosts) places it in a
    container runtime's cgroup; "" when it has none."""
    v2, v1 = "", []
    with open(f"{proc}/{pid}/cgroup") as fh:
        for line in fh:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) != 3:
                continue
            if parts[0] == "0" and parts[1] == "":
                v2 = parts[2]
            else:
                v1.append(parts[2])
    if v2 in ("", "/"):
        for path in v1:
            if runtime_of(path)[0] != "cgroup":
                return path
    return v2


def runtime_of(cgroup_path: str):
    """(runtime, id) from a cgroup path, or ("cgroup", path) for a bare cgroup."""
    for runtime, pattern in _RUNTIME_PATTERNS:
        m = pattern.search(cgroup_path)
        if m:
            return runtime, m.group(1)
    return "cgroup", cgroup_path


def _read_json(path: Path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def runtime_name(runtime: str, cid: str, roots: Iterable[str] = ("/",)) -> Optional[str]:
    """The container's name from its runtime's state directory, if present."""
    for root in map(Path, roots):
        if runtime == "docker":
            data = _read_json(root / "var/lib/docker/containers" / cid / "config.v2.json")
            if data and data.get("Name"):
                return data["Name"].lstrip("/")
        elif runtime == "podman":
            for base in ("var/lib/containers/storage", "run/containers/storage"):
                data = _read_json(root / base / "overlay-containers/containers.json")
                for entry in data or ():
                    if entry.get("id") == cid and entry.get("names"):
                        return entry["names"][0]
        elif runtime in ("containerd", "cri-o"):
            candidates = [root / "run/containers/storage/overlay-containers" / cid / "userdata/config.json"]
            tasks = root / "run/containerd/io.containerd.runtime.v2.task"
            if tasks.is_dir():
                candidates += [ns / cid / "config.json" for ns in tasks.iterdir()]
            for path in candidates:
                data = _read_json(path)
                notes = (data or {}).get("annotations") or {}
                for key in ("io.kubernetes.cri.container-name", "io.kubernetes.container.name",
                            "nerdctl/name"):
                    if notes.get(key):
                        return notes[key]
    return None


def discover(proc: str = "/proc", host_mntns: Optional[int] = None,
             roots: Iterable[str] = ("/",)) -> List[Container]:
    """Every container running now: processes outside the host's mount
    namespace, grouped by cgroup."""
    if host_mntns is None:
        host_mntns = host_mntns_id(proc)
    cg_root = cgroup2_root()
    by_cgroup: Dict[str, Container] = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            ns = mntns_of(pid, proc)
            if ns == host_mntns:
                continue
            cgpath = cgroup_of(pid, proc)
        except OSError:
            continue  # exited, or a kernel thread
        if cgpath in ("", "/"):
            continue  # a private mount namespace alone is not a container
        c = by_cgroup.get(cgpath)
        if c is None:
            runtime, cid = runtime_of(cgpath)
            name = runtime_name(runtime, cid, roots) if runtime != "cgroup" else None
            if name is None:
                name = cid[:12] if runtime != "cgroup" else (cgpath.rstrip("/").rsplit("/", 1)[-1] or "/")
            cgroup_id = 0
            if cg_root is not None:
                try:
                    cgroup_id = os.stat(str(cg_root) + cgpath).st_ino
                except OSError:
                    pass
            c = by_cgroup[cgpath] = Container(cid, name, runtime, cgpath, cgroup_id)
        c.mntns_ids.add(ns)
        c.pids.append(pid)
    return sorted(by_cgroup.values(), key=lambda c: (c.name, c.id))


def _matches(c: Container, want: str) -> bool:
    if want in (c.name, c.id, c.cgroup_path):
        return True
    if c.runtime != "cgroup" and len(want) >= 4 and c.id.startswith(want):
        return True
    cg_root = cgroup2_root()
    if cg_root is not None and want.rstrip("/") == str(cg_root) + c.cgroup_path:
        return True
    if "/" in want and "/" + want.strip("/") == c.cgroup_path:
        return True
    return want.isdigit() and int(want) in c.mntns_ids


def select(names: Iterable[str], containers: Optional[List[Container]] = None) -> List[Container]:
    """Resolve user-given container names; an unknown one is a GadgetError."""
    containers = discover() if containers is None else containers
    out: List[Container] = []
    for want in names:
        found = [c for c in containers if _matches(c, want)]
        if not found:
            raise GadgetError(f"no container {want!r} (running: "
                              f"{', '.join(c.name for c in containers) or 'none'})")
        out.extend(c for c in found if c not in out)
    return out


class Enricher:
    """Maps mount-namespace ids to containers; rescans (at most once a
    second) when it meets an id it does not know."""

    def __init__(self, proc: str = "/proc", rescan_interval: float = 1.0) -> None:
        self.proc = proc
        self.host_mntns = host_mntns_id(proc)
        self.interval = rescan_interval
        self._by_mntns: Dict[int, Container] = {}
        self._last = 0.0
        self.rescan()

    def rescan(self) -> None:
        self._last = time.monotonic()
        for c in discover(self.proc, self.host_mntns):
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
