"""Small questions CO-RE asks about one BTF type, answered from a btf.Spec.

Owns modifier/typedef skipping, size resolution with libbpf's rules, the
kind predicates used by the compatibility checks, and C-like spelling of a
type for messages. Decodes only the types it is asked about.
"""
from __future__ import annotations

from typing import Any, List, Tuple

from pybpf.btf.spec import Spec
from pybpf.btf.types import INT_SIGNED, Kind, Member, Struct, Type, Union
from pybpf.errors import CoreRelocationError

#: A BTF type that the engine reads by its ``kind`` (checked before any
#: kind-specific attribute such as ``.type`` or ``.members``), as libbpf's C
#: does. This is the engine's one deliberate Any: narrowing each access with
#: isinstance would add checks to the relocation loop and change no behaviour.
KindTyped = Any

_MODS = frozenset((Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG))
_SIZED = frozenset((Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FLOAT,
                    Kind.DATASEC))
_ENUMS = frozenset((Kind.ENUM, Kind.ENUM64))
_COMPOSITES = frozenset((Kind.STRUCT, Kind.UNION))
_MAX_CHAIN = 64
PTR_SIZE = 8


def skip_mods(spec: Spec, type_id: int) -> Tuple[int, KindTyped]:
    """Follow typedefs and qualifiers from ``type_id``: (id, type) reached."""
    t: KindTyped = spec[type_id]
    for _ in range(_MAX_CHAIN):
        if t.kind not in _MODS:
            return type_id, t
        type_id = t.type
        t = spec[type_id]
    raise CoreRelocationError(f"BTF type [{type_id}]: typedef/modifier chain too long")


def members(spec: Spec, type_id: int) -> List[Member]:
    """The members of struct/union ``type_id`` (an accessor's parent)."""
    t = spec[type_id]
    if not isinstance(t, (Struct, Union)):
        raise CoreRelocationError(f"BTF type [{type_id}] {kind_word(t)} has no members")
    return t.members


def is_composite(t: Type) -> bool:
    return t.kind in _COMPOSITES


def is_any_enum(t: Type) -> bool:
    return t.kind in _ENUMS


def kinds_core_compat(a: Type, b: Type) -> bool:
    """Same BTF kind, with ENUM and ENUM64 counted as one (libbpf's rule)."""
    return a.kind == b.kind or (a.kind in _ENUMS and b.kind in _ENUMS)


def int_signed(t: KindTyped) -> bool:
    return bool(t.encoding & INT_SIGNED)


def resolve_size(spec: Spec, type_id: int) -> int:
    """Byte size of ``type_id`` as btf__resolve_size computes it.

    Arrays multiply through, pointers are 8 bytes; void, functions and forward
    declarations have no size (CoreRelocationError).
    """
    nelems = 1
    for _ in range(_MAX_CHAIN):
        t: KindTyped = spec[type_id]
        if t.kind in _SIZED:
            return nelems * int(t.size)
        if t.kind == Kind.PTR:
            return nelems * PTR_SIZE
        if t.kind in _MODS or t.kind == Kind.VAR:
            type_id = t.type
            continue
        if t.kind == Kind.ARRAY:
            nelems *= t.nelems
            type_id = t.type
            continue
        raise CoreRelocationError(f"BTF type [{type_id}] {kind_word(t)} has no size")
    raise CoreRelocationError(f"BTF type [{type_id}]: type chain too long to size")


def kind_word(t: Type) -> str:
    """libbpf's lower-case kind name: ``struct``, ``enum64``, ``typedef``..."""
    return "void" if t.kind == Kind.UNKN else t.kind.name.lower()


def type_name(t: Type) -> str:
    return getattr(t, "name", "") or ""


def spell(spec: Spec, type_id: int) -> str:
    """C-like spelling for messages: ``struct task_struct``, ``enum <anon>``, ``u32``."""
    t: KindTyped = spec[type_id]
    name = type_name(t) or "<anon>"
    if is_composite(t):
        return f"{kind_word(t)} {name}"
    if is_any_enum(t):
        return f"enum {name}"
    if t.kind == Kind.FWD:
        return f"{'union' if t.union else 'struct'} {name} (fwd)"
    if t.kind == Kind.PTR:
        return f"{spell(spec, t.type)} *"
    if t.kind == Kind.UNKN:
        return "void"
    if t.kind in (Kind.INT, Kind.FLOAT, Kind.TYPEDEF):
        return name
    return f"{kind_word(t)} {name}"
