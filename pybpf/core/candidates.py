"""Candidate target types for a local type: same essential name, compatible kind.

Owns the name lookup in target BTF (through the Spec's name index, decoding
nothing but the candidates' kinds) and its per-process cache. As libbpf does,
vmlinux is searched first and module BTF (split specs) only when vmlinux
has no candidate.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

from pybpf.btf.spec import Spec
from pybpf.btf.types import Kind
from pybpf.core.kinds import essential_name

_ENUMS = (Kind.ENUM, Kind.ENUM64)


@dataclass(frozen=True)
class Candidate:
    """One target type: the spec holding it, its id, and a label for messages."""

    btf: Spec
    type_id: int
    source: str


def _kind_class(kind: Kind) -> Kind:
    """Kinds that match each other as candidates (ENUM and ENUM64 are one)."""
    return Kind.ENUM if kind in _ENUMS else kind


def _names_with_separator(strs: bytes) -> List[str]:
    """Every string of a NUL-separated table that contains ``___``."""
    out = []
    pos = strs.find(b"___")
    while pos != -1:
        start = strs.rfind(b"\0", 0, pos) + 1
        end = strs.find(b"\0", pos)
        if end == -1:
            end = len(strs)
        out.append(strs[start:end].decode("utf-8", "surrogateescape"))  # as btf.Spec names
        pos = strs.find(b"___", end)
    return out


class _NameIndex:
    """Essential name -> ids of one target spec (its own types only)."""

    def __init__(self, spec: Spec) -> None:
        # weak: _INDEXES is keyed weakly by this very spec, and a strong reference
        # here would keep every target spec (kernel BTF mmap included) alive forever
        self._spec = weakref.ref(spec)
        self._flavored: Dict[str, List[str]] = {}
        self._flavors_scanned = False
        self._by_essential: Dict[Tuple[str, Kind], Tuple[int, ...]] = {}

    @property
    def spec(self) -> Any:
        return self._spec()

    def _scan_flavors(self) -> None:
        """Map essential name -> flavored names present in the string table(s).

        A split spec starts from its base's map (scanned once, shared by every
        module) and adds the names of its own table."""
        spec = self.spec
        if spec.base is not None:
            base = _index(spec.base)
            if not base._flavors_scanned:
                base._scan_flavors()
            self._flavored = {k: list(v) for k, v in base._flavored.items()}
        for name in _names_with_separator(spec.string_table):
            essential = essential_name(name)
            if essential != name:
                names = self._flavored.setdefault(essential, [])
                if name not in names:
                    names.append(name)
        self._flavors_scanned = True

    def prefetch(self, essentials: Sequence[str]) -> None:
        """Look up many essential names (and their flavors) in one batch."""
        if not self._flavors_scanned:
            self._scan_flavors()
        batch = getattr(self.spec, "ids_by_names", None)
        if batch is None:
            return
        names: List[str] = []
        for essential in essentials:
            names.append(essential)
            names.extend(self._flavored.get(essential, ()))
        batch(names)

    def lookup(self, essential: str, kind: Kind) -> Tuple[int, ...]:
        key = (essential, _kind_class(kind))
        hit = self._by_essential.get(key)
        if hit is not None:
            return hit
        if not self._flavors_scanned:
            self._scan_flavors()
        spec = self.spec
        ids = set(spec.ids_by_name(essential))
        for name in self._flavored.get(essential, ()):
            ids.update(spec.ids_by_name(name))
        first = spec.first_id
        out = tuple(sorted(i for i in ids
                           if i >= first and _kind_class(spec.kind_of(i)) == key[1]))
        self._by_essential[key] = out
        return out


_INDEXES: "weakref.WeakKeyDictionary[Any, _NameIndex]" = weakref.WeakKeyDictionary()


def _index(spec: Spec) -> _NameIndex:
    idx = _INDEXES.get(spec)
    if idx is None:
        idx = _INDEXES[spec] = _NameIndex(spec)
    return idx


def source_name(spec: Spec, position: int) -> str:
    """How candidates from the spec at ``position`` of the target list are labelled."""
    name = getattr(spec, "name", "") or ""
    return name.rstrip("/").rsplit("/", 1)[-1] or f"target#{position}"


def prefetch(local: Spec, local_ids: Sequence[int], targets: Sequence[Spec]) -> None:
    """Warm the name lookups ``find_candidates`` will make in the first target (vmlinux)
    for these local types, in one pass; ids that cannot be named are left to fail later."""
    if not targets:
        return
    essentials = []
    for local_id in local_ids:
        try:
            name = local.name_of(local_id)
        except Exception:  # reported, with context, when the relocation is resolved
            continue
        if name:
            essentials.append(essential_name(name))
    if len(essentials) > 1:
        _index(targets[0]).prefetch(essentials)


def find_candidates(local: Spec, local_id: int, targets: Sequence[Spec]) -> List[Candidate]:
    """Target types for ``local_id``: vmlinux first, modules only if vmlinux has none.

    The local type itself (typedef, struct, enum...) decides the kind looked
    for; its name must not be empty (the caller checks).
    """
    name = local.name_of(local_id)
    kind = local.kind_of(local_id)
    essential = essential_name(name)
    out: List[Candidate] = []
    for position, spec in enumerate(targets):
        label = source_name(spec, position)
        out.extend(Candidate(spec, i, label) for i in _index(spec).lookup(essential, kind))
        if position == 0 and out:
            break
    return out
