"""Match a local accessor spec against one target candidate type.

Follows libbpf's bpf_core_spec_match: named fields are searched by name
through the candidate (descending into anonymous struct/union members),
array indexes must be in bounds (flexible arrays excepted), field types must
be compatible; enumerators match by essential name; type relocations use
the type compatibility/match relations.
"""
from __future__ import annotations

from typing import List, Optional

from pybpf.btf.spec import Spec
from pybpf.btf.types import Kind
from pybpf.core.access import MAX_SPEC_LEN, Accessor, AccessSpec, is_flex_array
from pybpf.core.compat import fields_are_compat, types_are_compat, types_match
from pybpf.core.kinds import RelocKind, essential_name
from pybpf.core.typeinfo import is_any_enum, is_composite, members, resolve_size, skip_mods, spell
from pybpf.errors import CoreRelocationError


def _too_deep() -> CoreRelocationError:
    return CoreRelocationError(f"target path nests deeper than {MAX_SPEC_LEN} levels")


def _match_member(local: AccessSpec, acc: Accessor, targ: Spec, targ_id: int,
                  out: AccessSpec, why: List[str]) -> Optional[int]:
    """Find local member ``acc`` in target composite ``targ_id``.

    Extends ``out`` (raw path, accessors, bit offset) and returns the matched
    member's type id, or None (``out`` unchanged) if there is no compatible
    member of that name.
    """
    targ_id, tt = skip_mods(targ, targ_id)
    if not is_composite(tt):
        return None
    local_member = members(local.btf, acc.type_id)[acc.idx]
    for i, member in enumerate(tt.members):
        if len(out.raw) == MAX_SPEC_LEN:
            raise _too_deep()
        out.bit_offset += member.bit_offset
        out.raw.append(i)
        if not member.name:
            found = _match_member(local, acc, targ, member.type, out, why)
            if found is not None:
                return found
        elif member.name == acc.name:
            if not fields_are_compat(local.btf, local_member.type, targ, member.type):
                why.append(f"field {acc.name!r} has incompatible type {spell(targ, member.type)}")
                out.bit_offset -= member.bit_offset
                out.raw.pop()
                return None
            out.accessors.append(Accessor(targ_id, i, member.name))
            return int(member.type)
        out.bit_offset -= member.bit_offset
        out.raw.pop()
    return None


def match_spec(local: AccessSpec, targ: Spec, targ_id: int,
               why: Optional[List[str]] = None) -> Optional[AccessSpec]:
    """The target spec for ``local`` in candidate ``targ_id`` of ``targ``, or None.

    When there is no match, the reason is appended to ``why``.
    """
    if why is None:
        why = []
    out = AccessSpec(targ, targ_id, local.kind)
    if local.kind.is_type:
        if local.kind == RelocKind.TYPE_MATCHES:
            ok = types_match(local.btf, local.root_type_id, targ, targ_id)
        else:
            ok = types_are_compat(local.btf, local.root_type_id, targ, targ_id)
        if not ok:
            why.append("type does not match" if local.kind == RelocKind.TYPE_MATCHES
                       else "type is not compatible")
        return out if ok else None
    if local.kind.is_enumval:
        tid, tt = skip_mods(targ, targ_id)
        if not is_any_enum(tt):
            why.append(f"{spell(targ, tid)} is not an enum")
            return None
        want = essential_name(local.accessors[0].name or "")
        for i, value in enumerate(tt.values):
            if essential_name(value.name) == want:
                out.accessors.append(Accessor(tid, i, value.name))
                out.raw.append(i)
                return out
        why.append(f"no enumerator {local.accessors[0].name!r}")
        return None
    for i, acc in enumerate(local.accessors):
        targ_id, tt = skip_mods(targ, targ_id)
        if acc.name is not None:
            next_id = _match_member(local, acc, targ, targ_id, out, why)
            if next_id is None:
                if not why:
                    why.append(f"no field {acc.name!r} in {spell(targ, targ_id)}")
                return None
            targ_id = next_id
            continue
        if i > 0:
            if tt.kind != Kind.ARRAY:
                why.append(f"{spell(targ, targ_id)} is not an array")
                return None
            if not is_flex_array(targ, out.accessors[-1], tt) and acc.idx >= tt.nelems:
                why.append(f"index {acc.idx} is past the end of an array of {tt.nelems}")
                return None
            targ_id, _ = skip_mods(targ, tt.type)
        if len(out.raw) == MAX_SPEC_LEN:
            raise _too_deep()
        out.accessors.append(Accessor(targ_id, acc.idx))
        out.raw.append(acc.idx)
        out.bit_offset += acc.idx * resolve_size(targ, targ_id) * 8
    return out
