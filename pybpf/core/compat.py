"""Compatibility relations between a local and a target BTF type.

Three relations with libbpf's meaning:
- ``fields_are_compat``: may a field of the local type be read as the target
  field (bpf_core_fields_are_compat);
- ``types_are_compat``: the looser check behind TYPE_EXISTS / TYPE_SIZE /
  TYPE_ID_TARGET (bpf_core_types_are_compat);
- ``types_match``: the stricter TYPE_MATCHES relation (bpf_core_types_match).
"""
from __future__ import annotations

from typing import Union

from pybpf.btf.spec import Spec
from pybpf.btf.types import Enum, Enum64, Kind, Struct
from pybpf.btf.types import Union as BTFUnion
from pybpf.core.kinds import essential_name
from pybpf.core.typeinfo import int_signed, is_any_enum, is_composite, kinds_core_compat, skip_mods, type_name
from pybpf.errors import CoreRelocationError

MAX_DEPTH = 32
_COMPAT_LEAVES = frozenset((Kind.UNKN, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64,
                            Kind.FWD))


def _too_deep(local_id: int, targ_id: int) -> CoreRelocationError:
    return CoreRelocationError(f"types [{local_id}] and [{targ_id}] nest deeper than "
                               f"{MAX_DEPTH} levels")


def _names_essentially_equal(a: str, b: str) -> bool:
    return essential_name(a) == essential_name(b)


def fields_are_compat(local: Spec, local_id: int, targ: Spec, targ_id: int) -> bool:
    """Can a local field of type ``local_id`` be relocated to a target field of ``targ_id``."""
    for _ in range(MAX_DEPTH):
        local_id, lt = skip_mods(local, local_id)
        targ_id, tt = skip_mods(targ, targ_id)
        if is_composite(lt) and is_composite(tt):
            return True
        if not kinds_core_compat(lt, tt):
            return False
        if lt.kind in (Kind.PTR, Kind.FLOAT):
            return True
        if lt.kind == Kind.FWD or is_any_enum(lt):
            ln, tn = essential_name(type_name(lt)), essential_name(type_name(tt))
            return not ln or not tn or ln == tn
        if lt.kind == Kind.INT:
            return bool(lt.offset == 0 and tt.offset == 0)
        if lt.kind == Kind.ARRAY:
            local_id, targ_id = lt.type, tt.type
            continue
        return False
    raise _too_deep(local_id, targ_id)


def types_are_compat(local: Spec, local_id: int, targ: Spec, targ_id: int,
                     level: int = MAX_DEPTH) -> bool:
    """libbpf's bpf_core_types_are_compat (names of the roots already matched)."""
    if not kinds_core_compat(local[local_id], targ[targ_id]):
        return False
    for _ in range(MAX_DEPTH):
        local_id, lt = skip_mods(local, local_id)
        targ_id, tt = skip_mods(targ, targ_id)
        if not kinds_core_compat(lt, tt):
            return False
        if lt.kind in _COMPAT_LEAVES:
            return True
        if lt.kind == Kind.INT:
            return bool(lt.offset == 0 and tt.offset == 0)
        if lt.kind in (Kind.PTR, Kind.ARRAY):
            local_id, targ_id = lt.type, tt.type
            continue
        if lt.kind == Kind.FUNC_PROTO:
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params):
                if level <= 0:
                    raise _too_deep(local_id, targ_id)
                lid, _ = skip_mods(local, lp.type)
                tid, _ = skip_mods(targ, tp.type)
                if not types_are_compat(local, lid, targ, tid, level - 1):
                    return False
            local_id, targ_id = lt.return_type, tt.return_type
            continue
        return False
    raise _too_deep(local_id, targ_id)


def _name_matches(local_name: str, targ_name: str) -> bool:
    """bpf_core_names_match: anonymous only matches anonymous, else essential names."""
    if not targ_name:
        return not local_name
    return _names_essentially_equal(local_name, targ_name)


def _enums_match(lt: Union[Enum, Enum64], tt: Union[Enum, Enum64]) -> bool:
    if lt.size != tt.size or len(lt.values) > len(tt.values):
        return False
    targ_names = [v.name for v in tt.values]
    return all(any(_name_matches(lv.name, tn) for tn in targ_names) for lv in lt.values)


def _composites_match(local: Spec, lt: Union[Struct, BTFUnion], targ: Spec,
                      tt: Union[Struct, BTFUnion], behind_ptr: bool, level: int) -> bool:
    if len(lt.members) > len(tt.members):
        return False
    for lm in lt.members:
        if not any(_name_matches(lm.name or "", tm.name or "")
                   and types_match(local, lm.type, targ, tm.type, behind_ptr, level - 1)
                   for tm in tt.members):
            return False
    return True


def types_match(local: Spec, local_id: int, targ: Spec, targ_id: int,
                behind_ptr: bool = False, level: int = MAX_DEPTH) -> bool:
    """libbpf's __bpf_core_types_match (the TYPE_MATCHES relation)."""
    if level <= 0:
        raise _too_deep(local_id, targ_id)
    for _ in range(MAX_DEPTH):
        local_id, lt = skip_mods(local, local_id)
        targ_id, tt = skip_mods(targ, targ_id)
        if not _name_matches(type_name(lt), type_name(tt)):
            return False
        if lt.kind == Kind.UNKN:
            return bool(tt.kind == Kind.UNKN)
        if lt.kind == Kind.FWD:
            if behind_ptr and tt.kind != Kind.FWD:
                return bool(tt.kind == (Kind.UNION if lt.union else Kind.STRUCT))
            return tt.kind == Kind.FWD and bool(lt.union) == bool(tt.union)
        if is_any_enum(lt):
            return is_any_enum(tt) and _enums_match(lt, tt)
        if is_composite(lt):
            if behind_ptr:
                if lt.kind == tt.kind:
                    return True
                return bool(tt.kind == Kind.FWD and bool(tt.union) == (lt.kind == Kind.UNION))
            return lt.kind == tt.kind and _composites_match(local, lt, targ, tt, behind_ptr,
                                                              level)
        if lt.kind == Kind.INT:
            return (tt.kind == Kind.INT and lt.size == tt.size
                    and int_signed(lt) == int_signed(tt))
        if lt.kind == Kind.PTR:
            if tt.kind != Kind.PTR:
                return False
            behind_ptr = True
            local_id, targ_id = lt.type, tt.type
            continue
        if lt.kind == Kind.ARRAY:
            if tt.kind != Kind.ARRAY or lt.nelems != tt.nelems:
                return False
            local_id, targ_id = lt.type, tt.type
            continue
        if lt.kind == Kind.FUNC_PROTO:
            if tt.kind != Kind.FUNC_PROTO or len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params):
                if not types_match(local, lp.type, targ, tp.type, behind_ptr, level - 1):
                    return False
            local_id, targ_id = lt.return_type, tt.return_type
            continue
        return False
    raise _too_deep(local_id, targ_id)
