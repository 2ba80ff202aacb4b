"""Which containers a gadget run follows, as they come and go.

A Selection holds what the user asked for: ``-c`` names (name, full id,
unique id prefix, cgroup path, mount-ns id) and a ContainerFilter
(``--runtimes``, ``--k8s-*``). It resolves that against the containers
running now, and says how a run can follow it:

- "kernel": every ``-c`` names a running container and no filter is set:
  the in-kernel mount-namespace filter map holds exactly the selected
  containers' namespaces; ``map_changes`` says which ids to add and which to
  remove (a container that is gone leaves the map; one restarted brings
  its new namespace);
- "user": a name matches nothing yet (a container that will start after
  the gadget) or a filter is set (pods come and go): the kernel passes
  every event and each event's container is matched here, so a container's
  first exec is seen once its mount namespace is looked up.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Set, Tuple

from .containers import Container, ContainerFilter, find, running_names
from .errors import GadgetError


class Selection:
    """The user's container selection; ``active`` when there is one."""

    def __init__(self, names: Iterable[str] = (), wanted: Optional[ContainerFilter] = None) -> None:
        self.names = list(names)
        self.filter = wanted if wanted is not None else ContainerFilter()

    @property
    def active(self) -> bool:
        return bool(self.names) or bool(self.filter)

    def resolve(self, containers: List[Container]) -> Tuple[List[Container], List[str]]:
        """(the selected containers among ``containers``, the names matching
        none); an ambiguous id prefix is a GadgetError."""
        chosen: List[Container] = []
        missing: List[str] = []
        pool = self.filter.apply(containers)
        for want in self.names:
            found = find(want, pool)
            if not found:
                missing.append(want)
            chosen.extend(c for c in found if c not in chosen)
        if not self.names:
            chosen = pool
        return chosen, missing

    def mode(self, containers: List[Container]) -> str:
        """"kernel" or "user" (see the module docstring)."""
        _, missing = self.resolve(containers)
        return "user" if missing or self.filter else "kernel"

    def waiting_line(self, containers: List[Container]) -> Optional[str]:
        """The one line said when some names match no running container yet."""
        _, missing = self.resolve(containers)
        if not missing:
            return None
        names = ", ".join(repr(m) for m in missing)
        return (f"no container {names} running yet (running: {running_names(containers)}); "
                "following it when it starts")

    def matches(self, c: Optional[Container], containers: List[Container]) -> bool:
        """Whether an event's container is selected (user mode)."""
        if c is None or not self.filter.matches(c):
            return False
        if not self.names:
            return True
        pool = containers if c in containers else containers + [c]
        try:
            return any(c in find(want, pool) for want in self.names)
        except GadgetError:   # a prefix that became ambiguous selects nothing
            return False

    def map_changes(self, containers: List[Container], in_map: Set[int]) -> Tuple[Set[int], Set[int]]:
        """(mount-ns ids to add to the kernel filter map, ids to remove)."""
        chosen, _ = self.resolve(containers)
        want: Set[int] = set()
        for c in chosen:
            want |= c.mntns_ids
        return want - in_map, in_map - want
