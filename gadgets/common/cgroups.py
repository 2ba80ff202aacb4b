"""Cgroup facts about processes, and what a cgroup path says about the
container that owns it. Pure text parsing, except ``cgroup2_root`` and
``cgroup_id`` (which look at this host).

``/proc/PID/cgroup`` has one line per hierarchy, ``ID:CONTROLLERS:PATH``; the
v2 line is ``0::PATH``. On hybrid and v1-only hosts the runtime's path may be
only on the v1 lines (the v2 line reads ``/``).

Container runtimes name cgroups after the container (cgroupfs driver, v1 or
v2) or put it in a systemd scope (systemd driver, v2):

    docker      /docker/<id>                   .../docker-<id>.scope
    podman      /libpod_parent/[<pod>/]libpod-<id>  .../libpod-<id>.scope[/container]
    containerd  /<namespace>/<name> (ctr)      .../cri-containerd-<id>.scope
    CRI-O       .../crio-<id>                  .../crio-<id>.scope
    kubelet     /kubepods/<qos>/pod<uid>/<id>  kubepods-<qos>-pod<uid>.slice/...

``/<namespace>/<name>`` is recognisable only with containerd's state (the
bundle's cgroupsPath); a bare id under /kubepods names no runtime.
"""
from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from pathlib import Path

from pybpf.records import FrozenRecord

_ID = r"([0-9a-f]{64})"
# compiled on first use (re's own cache): a host without containers never parses a path,
# and compiling these at import cost every gadget start a few ms
_PATTERNS = (
    ("docker", r"(?:^|/)docker-" + _ID + r"\.scope$"),
    ("docker", r"(?:^|/)docker/" + _ID + r"$"),
    ("podman", r"(?:^|/)libpod-" + _ID + r"(?:\.scope)?(?:/container)?$"),
    ("cri-o", r"(?:^|/)crio-" + _ID + r"(?:\.scope)?(?:/container)?$"),
    ("containerd", r"(?:^|/)cri-containerd-" + _ID + r"\.scope$"),
    ("", r"^/kubepods[^/]*(?:/[^/]+)*/" + _ID + r"$"),
)
_POD_UID = (r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})"
            r"(?:\.slice)?/")


class CgroupMatch(FrozenRecord):
    """What a cgroup path says: the runtime ("" when the path names none, or
    a bare id under kubepods), the container id, the pod uid if in kubepods."""

    __slots__ = ("runtime", "id", "pod_uid")

    runtime: str
    id: str
    pod_uid: str

    def __init__(self, runtime: str, id: str, pod_uid: str = "") -> None:
        object.__setattr__(self, "runtime", runtime)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "pod_uid", pod_uid)


def parse_path(path: str) -> Optional[CgroupMatch]:
    """The container a cgroup path belongs to, or None for any other path."""
    for runtime, pattern in _PATTERNS:
        m = re.search(pattern, path)
        if m:
            uid = re.search(_POD_UID, path)
            return CgroupMatch(runtime, m.group(1), uid.group(1).replace("_", "-") if uid else "")
    return None


def path_from_text(text: str) -> str:
    """The cgroup path of a process from its /proc/PID/cgroup text: the v2
    path, unless that is the root (or absent) and a v1 line places it in a
    container runtime's cgroup; "" when it has none."""
    v2, v1 = "", []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2 = parts[2]
        else:
            v1.append(parts[2])
    if v2 in ("", "/"):
        for path in v1:
            if parse_path(path) is not None:
                return path
    return v2


def cgroup_of(pid: int, proc: str = "/proc") -> str:
    """The cgroup path of a process (see path_from_text); OSError when it is gone."""
    with open(f"{proc}/{pid}/cgroup") as fh:
        return path_from_text(fh.read(1 << 16))


def cgroup2_root() -> Optional[Path]:
    """Where the cgroup v2 hierarchy is mounted (unified or hybrid layout)."""
    from pathlib import Path  # here: a gadget's start asks no cgroup root

    try:
        with open("/proc/self/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 2 and parts[2] == "cgroup2":
                    return Path(parts[1])
    except OSError:
        pass
    return None


def cgroup_id(path: str, root: Optional[Path]) -> int:
    """The cgroup v2 id of a path (its directory's inode; what
    bpf_get_current_cgroup_id returns), 0 when it is not in the v2 tree."""
    if root is None or not path:
        return 0
    try:
        return os.stat(str(root) + path).st_ino
    except OSError:
        return 0
