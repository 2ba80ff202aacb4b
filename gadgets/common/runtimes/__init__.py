"""Readers of the container runtimes' own state (docker, containerd and its
Kubernetes CRI plugin, CRI-O, podman): files and sockets only, no runtime
client and no new dependency. Each reader turns what its runtime keeps on
disk into Records (record.py); ``read_all`` runs the readers asked for,
joins pods' containers to their sandboxes, and notes what it could not read.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional

from .record import Problems, Record, link_sandboxes

if TYPE_CHECKING:  # annotations only: pathlib stays off a gadget's start
    from pathlib import Path

# each reader module's RUNTIME, in the order they are read (a test checks they agree)
NAMES = ("docker", "containerd", "cri-o", "podman")


def readers() -> Dict[str, Any]:
    """Each runtime's reader by name; the modules are imported here, when a host has
    processes in containers to ask about (tens of ms of import at every gadget start)."""
    from . import containerd, crio, docker, podman
    return {m.RUNTIME: m.read for m in (docker, containerd, crio, podman)}


def read_all(root: Path, problems: Problems,
             runtimes: Optional[Iterable[str]] = None) -> Dict[str, Record]:
    """Every container the selected runtimes' state describes, by id."""
    by_id: Dict[str, Record] = {}
    read = readers()
    for name in (NAMES if runtimes is None else runtimes):
        for r in read[name](root, problems):
            if r.id in by_id:
                by_id[r.id].merge(r)
            else:
                by_id[r.id] = r
    records: List[Record] = list(by_id.values())
    link_sandboxes(records)
    return by_id
