"""Accessor specs: an access string ("0:1:2") walked through a BTF type.

Owns the parsed form of a relocation's access string for one BTF (local or
target): the low-level path (one index per level, anonymous members
included), the high-level accessors (named fields and array indexes only), and
the bit offset they reach. ``parse_local`` follows libbpf's
bpf_core_parse_spec; target specs are built by pybpf.core.match.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from pybpf.btf.spec import Spec
from pybpf.btf.types import Array, Kind
from pybpf.core.kinds import RelocKind
from pybpf.core.typeinfo import is_any_enum, is_composite, members, resolve_size, skip_mods, spell

MAX_SPEC_LEN = 64  # BPF_CORE_SPEC_MAX_LEN


class SpecError(ValueError):
    """The access string does not describe a valid path in its type."""


@dataclass
class Accessor:
    """One high-level step: a named member of ``type_id`` or an array index.

    For a member, ``type_id`` is the struct/union and ``idx`` the member's
    position; for an array index (``name`` None), ``type_id`` is the element
    type and ``idx`` the index.
    """

    type_id: int
    idx: int
    name: Optional[str] = None


@dataclass
class AccessSpec:
    """A relocation's path resolved in one BTF."""

    btf: Spec
    root_type_id: int
    kind: RelocKind
    raw: List[int] = field(default_factory=list)
    accessors: List[Accessor] = field(default_factory=list)
    bit_offset: int = 0

    def copy(self) -> "AccessSpec":
        return AccessSpec(self.btf, self.root_type_id, self.kind, list(self.raw),
                          [Accessor(a.type_id, a.idx, a.name) for a in self.accessors],
                          self.bit_offset)

    def describe(self) -> str:
        """C-like text: ``struct task_struct.real_parent``, ``enum e::B``, ``struct s[1].a[3]``."""
        base = spell(self.btf, self.root_type_id)
        if self.kind.is_type or not self.accessors:
            return base
        if self.kind.is_enumval:
            return f"{base}::{self.accessors[0].name}"
        out = [base]
        for i, acc in enumerate(self.accessors):
            if acc.name is not None:
                out.append(f".{acc.name}")
            elif i > 0 or acc.idx > 0:
                out.append(f"[{acc.idx}]")
        return "".join(out)

    def location(self) -> str:
        """Raw path and offset as libbpf prints them: ``0:1:2 @ offset 24`` (``24.3`` for bits)."""
        raw = ":".join(str(i) for i in self.raw)
        if self.bit_offset % 8:
            return f"{raw} @ offset {self.bit_offset // 8}.{self.bit_offset % 8}"
        return f"{raw} @ offset {self.bit_offset // 8}"


def parse_access_string(text: str) -> List[int]:
    """"0:1:2" -> [0, 1, 2]; raises SpecError on anything else."""
    if not text or text.startswith(":"):
        raise SpecError(f"invalid access string {text!r}")
    out = []
    for part in text.split(":"):
        if not part or not part.lstrip("-").isdigit():
            raise SpecError(f"invalid access string {text!r}")
        out.append(int(part))
    if len(out) > MAX_SPEC_LEN:
        raise SpecError(f"access string {text!r} nests deeper than {MAX_SPEC_LEN}")
    return out


def is_flex_array(spec: Spec, parent: Accessor, arr: Array) -> bool:
    """A zero-length array that is the last member of the struct holding it."""
    if parent.name is None or arr.nelems > 0:
        return False
    return parent.idx == len(members(spec, parent.type_id)) - 1


def parse_local(spec: Spec, type_id: int, access: str, kind: RelocKind) -> AccessSpec:
    """Walk ``access`` through local type ``type_id`` (libbpf's bpf_core_parse_spec)."""
    out = AccessSpec(spec, type_id, kind)
    if kind.is_type:
        if access != "0":
            raise SpecError(f"type relocation with access string {access!r} (want \"0\")")
        return out
    out.raw = parse_access_string(access)
    tid, t = skip_mods(spec, type_id)
    first = out.raw[0]
    if kind.is_enumval:
        if not is_any_enum(t) or len(out.raw) > 1 or not 0 <= first < len(t.values):
            raise SpecError(f"enum value relocation {access!r} does not index an enumerator "
                            f"of {spell(spec, type_id)}")
        out.accessors.append(Accessor(tid, first, t.values[first].name))
        return out
    if first < 0:
        raise SpecError(f"negative index in access string {access!r}")
    out.accessors.append(Accessor(tid, first))
    out.bit_offset = first * resolve_size(spec, tid) * 8
    for idx in out.raw[1:]:
        tid, t = skip_mods(spec, tid)
        if idx < 0:
            raise SpecError(f"negative index in access string {access!r}")
        if is_composite(t):
            if idx >= len(t.members):
                raise SpecError(f"{spell(spec, tid)} has no member #{idx} ({access!r})")
            member = t.members[idx]
            out.bit_offset += member.bit_offset
            if member.name:
                out.accessors.append(Accessor(tid, idx, member.name))
            tid = member.type
        elif t.kind == Kind.ARRAY:
            elem_id, _ = skip_mods(spec, t.type)
            if not is_flex_array(spec, out.accessors[-1], t) and idx >= t.nelems:
                raise SpecError(f"index {idx} out of bounds of array [{tid}] "
                                f"with {t.nelems} elements ({access!r})")
            out.accessors.append(Accessor(elem_id, idx))
            out.bit_offset += idx * resolve_size(spec, elem_id) * 8
            tid = elem_id
        else:
            raise SpecError(f"access string {access!r} steps into {spell(spec, tid)}, "
                            "which is neither a struct, union nor array")
    return out
