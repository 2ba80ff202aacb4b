"""Readers of the container runtimes' own state (docker, containerd and its
Kubernetes CRI plugin, CRI-O, podman): files and sockets only, no runtime
client and no new dependency. Each reader turns what its runtime keeps on
disk into Records (record.py); ``read_all`` runs the readers asked for,
joins pods' containers to their sandboxes, and notes what it could not read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, List, Optional

from . import containerd, crio, docker, podman
from .record import Problems, Record, link_sandboxes

READERS = {m.RUNTIME: m.read for m in (docker, containerd, crio, podman)}
NAMES = tuple(READERS)


def read_all(root: Path, problems: Problems,
             runtimes: Optional[Iterable[str]] = None) -> Dict[str, Record]:
    """Every container the selected runtimes' state describes, by id."""
    by_id: Dict[str, Record] = {}
    for name in (NAMES if runtimes is None else runtimes):
        for r in READERS[name](root, problems):
            if r.id in by_id:
                by_id[r.id].merge(r)
            else:
                by_id[r.id] = r
    records: List[Record] = list(by_id.values())
    link_sandboxes(records)
    return by_id
