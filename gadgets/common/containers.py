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
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from pybpf import records

from . import runtimes
from .cgroups import cgroup2_root, cgroup_id, cgroup_of, parse_path
from .errors import GadgetError
from .hostns import host_mntns_id, host_proc, host_root, mntns_of
from .runtimes.record import Problems, Record

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Container", "ContainerFilter", "discover", "select", "Enricher", "cgroup2_root",
           "cgroup_of", "mntns_of", "host_mntns_id", "RUNTIMES"]

RUNTIMES = runtimes.NAMES + ("cgroup",)
CGROUP_SOURCE = "cgroup path"
class Container(records.Record):
    """One running container: its processes' mount namespaces, its cgroup,
    and what its runtime says about it."""

    __slots__ = ("id", "name", "runtime", "cgroup_path", "cgroup_id", "mntns_ids", "pids", "image",
                 "pid", "mntns_id", "labels", "k8s", "pod_labels", "sources")

    id: str
    name: str
    runtime: str
    cgroup_path: str
    cgroup_id: int
    mntns_ids: Set[int]
    pids: List[int]
    image: str
    pid: int  # its first process (the runtime's, else the lowest pid seen)
    mntns_id: int  # that process's mount namespace
    labels: Dict[str, str]
    k8s: Dict[str, str]  # namespace, pod_name, pod_uid, container_name
    pod_labels: Dict[str, str]
    sources: Dict[str, str]  # field -> file/socket, or "cgroup path"

    def __init__(
            self,
            id: str,
            name: str,
            runtime: str,
            cgroup_path: str,
            cgroup_id: int = 0,
            mntns_ids: Optional[Set[int]] = None,
            pids: Optional[List[int]] = None,
            image: str = "",
            pid: int = 0,
            mntns_id: int = 0,
            labels: Optional[Dict[str, str]] = None,
            k8s: Optional[Dict[str, str]] = None,
            pod_labels: Optional[Dict[str, str]] = None,
            sources: Optional[Dict[str, str]] = None,
    ) -> None:
        self.id = id
        self.name = name
        self.runtime = runtime
        self.cgroup_path = cgroup_path
        self.cgroup_id = cgroup_id
        self.mntns_ids = set() if mntns_ids is None else mntns_ids
        self.pids = list() if pids is None else pids
        self.image = image
        self.pid = pid
        self.mntns_id = mntns_id
        self.labels = dict() if labels is None else labels
        self.k8s = dict() if k8s is None else k8s
        self.pod_labels = dict() if pod_labels is None else pod_labels
        self.sources = dict() if sources is None else sources

    @property
    def short_id(self) -> str:
        """The 12-character id runtimes print (a bare cgroup's id is its path)."""
        return self.id[:12] if self.runtime != "cgroup" else self.id

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


def discover(proc: Optional[str] = None, host_mntns: Optional[int] = None,
             roots: Optional[Iterable[str]] = None,
             warn: Optional[Callable[[str], None]] = warn_once) -> List[Container]:
    """Every container running now (pods' sandbox containers excluded),
    sorted by name. ``proc``: the host's /proc; ``roots``: where the
    runtimes' state directories are (both default to the host root, ``/``
    or $PYBPF_HOST_ROOT)."""
    proc = host_proc() if proc is None else proc
    roots = (host_root(),) if roots is None else roots
    if host_mntns is None:
        host_mntns = host_mntns_id(proc)
    groups = _scan(proc, host_mntns)
    if not groups:  # no process outside the host's mount namespace: no runtime to ask
        return []
    from pathlib import Path  # the runtimes' readers (imported on first use) take Paths

    problems = Problems()
    by_id: Dict[str, Record] = {}
    for root in roots:
        for cid, r in runtimes.read_all(Path(root), problems).items():
            by_id.setdefault(cid, r)
    by_cgroup = {r.cgroup_path: r for r in by_id.values() if r.cgroup_path}
    by_pid = {r.pid: r for r in by_id.values() if r.pid}
    cg_root = cgroup2_root()
    found = []
    for path, members in groups.items():
        record = _record_for(path, members, by_id, by_cgroup, by_pid)
        if record is not None and record.sandbox:
            continue
        found.append(_container(path, members, record, cg_root))
    if warn is not None:
        for message in problems.items:
            warn(message)
    return sorted(found, key=lambda c: (c.name, c.id))


def matches_name(c: Container, want: str, cg_root: Optional[Path]) -> bool:
    """Whether ``want`` is exactly this container's name, id, cgroup path
    (as in /proc or under the cgroup2 mount) or one of its mount-ns ids."""
    if want in (c.name, c.id, c.cgroup_path):
        return True
    if cg_root is not None and want.rstrip("/") == str(cg_root) + c.cgroup_path:
        return True
    if "/" in want and "/" + want.strip("/") == c.cgroup_path:
        return True
    return want.isdigit() and int(want) in c.mntns_ids


def find(want: str, containers: List[Container]) -> List[Container]:
    """The containers ``want`` names: exactly (matches_name), else by a
    runtime id prefix, which must be unique (else a GadgetError)."""
    cg_root = cgroup2_root()
    exact = [c for c in containers if matches_name(c, want, cg_root)]
    if exact:
        return exact
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
    out: List[Container] = []
    for want in names:
        found = find(want, containers)
        if not found:
            raise GadgetError(f"no container {want!r} (running: {running_names(containers)})")
        out.extend(c for c in found if c not in out)
    return out


class ContainerFilter(records.Record):
    """Which containers a user asked for by runtime and Kubernetes identity
    (``--runtimes``, ``--k8s-namespace``, ``--k8s-podname``,
    ``--k8s-containername``, ``--k8s-selector``). Empty: every container."""

    __slots__ = ("runtimes", "namespace", "pod_name", "container_name", "selector")

    runtimes: Optional[Set[str]]
    namespace: str
    pod_name: str
    container_name: str
    selector: Dict[str, str]

    def __init__(
            self,
            runtimes: Optional[Set[str]] = None,
            namespace: str = "",
            pod_name: str = "",
            container_name: str = "",
            selector: Optional[Dict[str, str]] = None,
    ) -> None:
        self.runtimes = runtimes
        self.namespace = namespace
        self.pod_name = pod_name
        self.container_name = container_name
        self.selector = dict() if selector is None else selector

    @classmethod
    def parse(cls, runtimes: Optional[str] = None, namespace: Optional[str] = None,
              pod_name: Optional[str] = None, container_name: Optional[str] = None,
              selector: Optional[str] = None) -> "ContainerFilter":
        """From the options' text; a bad value is a GadgetError naming the option."""
        wanted = None
        if runtimes:
            wanted = {r.strip() for r in runtimes.split(",") if r.strip()}
            unknown = sorted(wanted - set(RUNTIMES))
            if unknown or not wanted:
                raise GadgetError(f"--runtimes {runtimes!r}: unknown runtime "
                                  f"{', '.join(unknown) or '(none given)'} "
                                  f"(known: {', '.join(RUNTIMES)})")
        labels: Dict[str, str] = {}
        for term in (selector or "").split(","):
            if not term.strip():
                continue
            key, eq, value = term.partition("=")
            if not eq or not key.strip():
                raise GadgetError(f"--k8s-selector {selector!r}: expected key=value[,key=value]")
            labels[key.strip()] = value.strip()
        return cls(wanted, namespace or "", pod_name or "", container_name or "", labels)

    def __bool__(self) -> bool:
        return bool(self.runtimes or self.namespace or self.pod_name or self.container_name
                    or self.selector)

    def matches(self, c: Container) -> bool:
        if self.runtimes is not None and c.runtime not in self.runtimes:
            return False
        for want, have in ((self.namespace, "namespace"), (self.pod_name, "pod_name"),
                           (self.container_name, "container_name")):
            if want and c.k8s.get(have) != want:
                return False
        return all(c.pod_labels.get(k) == v for k, v in self.selector.items())

    def apply(self, containers: Iterable[Container]) -> List[Container]:
        return [c for c in containers if self.matches(c)]


class Enricher:
    """Maps mount-namespace ids to containers.

    An id it does not know makes it discover again at once (a container
    that just started: its first exec is attributed). The kernel reuses the
    numbers of dead namespaces at once, so a known answer is checked when
    an event's pid is new to it: the pid's cgroup must be the one the
    answer was found in (else discover again). An id found to be no
    container is not looked up again for ``forget_after`` seconds unless a
    new pid of it sits in another cgroup. The first discovery waits for the
    first event outside the host's mount namespace (or the first look at
    ``containers``): a start that sees only host processes scans nothing."""

    def __init__(self, proc: Optional[str] = None, forget_after: float = 30.0,
                 roots: Optional[Iterable[str]] = None) -> None:
        self.proc = host_proc() if proc is None else proc
        self.roots = (host_root(),) if roots is None else tuple(roots)
        self.host_mntns = host_mntns_id(self.proc)
        self.forget_after = forget_after
        self._containers: Optional[List[Container]] = None    # None: not discovered yet
        self._by_mntns: Dict[int, Container] = {}
        self._pids: Dict[int, Set[int]] = {}                  # mntns -> pids checked
        self._unknown: Dict[int, Tuple[float, str]] = {}      # mntns -> (when, a pid's cgroup)

    @property
    def containers(self) -> List[Container]:
        """The containers found by the last discovery (the first one made now)."""
        if self._containers is None:
            self.rescan()
        assert self._containers is not None
        return self._containers

    def rescan(self) -> None:
        """Discover again: containers gone are forgotten, new ones learnt."""
        found = self._containers = discover(self.proc, self.host_mntns, self.roots)
        self._by_mntns = {ns: c for c in found for ns in c.mntns_ids}
        self._pids = {ns: set(c.pids) for c in found for ns in c.mntns_ids}

    def _cgroup(self, pid: int) -> Optional[str]:
        try:
            return cgroup_of(pid, self.proc)
        except OSError:
            return None   # gone already: nothing better to learn

    def lookup(self, mntns_id: int, pid: int = 0) -> Optional[Container]:
        """The container of a mount namespace (``pid``: the event's process,
        when known, to notice a reused namespace number)."""
        if mntns_id == self.host_mntns or not mntns_id:
            return None
        fresh = self._containers is None
        if fresh:
            self.rescan()
        c = self._by_mntns.get(mntns_id)
        if c is not None:
            seen = self._pids[mntns_id]
            if not pid or pid in seen:
                return c
            path = self._cgroup(pid)
            if path is None or path == c.cgroup_path:
                seen.add(pid)
                return c
        else:
            when, path_then = self._unknown.get(mntns_id, (-self.forget_after, ""))
            if time.monotonic() - when < self.forget_after:
                path = self._cgroup(pid) if pid else None
                if path is None or path == path_then:
                    return None
        if not fresh:  # the discovery just made is the one a miss would ask for
            self.rescan()
            c = self._by_mntns.get(mntns_id)
        if c is None:
            self._unknown[mntns_id] = (time.monotonic(), (self._cgroup(pid) or "") if pid else "")
        return c
