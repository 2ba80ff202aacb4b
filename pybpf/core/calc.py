"""Relocation values from a local spec and one target spec.

Follows libbpf's bpf_core_calc_relo: the value the compiler emitted (from
the local spec, used to validate the instruction), the value to patch in
(from the target spec), whether to validate, the load/store size change of
a FIELD_BYTE_OFFSET access, or a poison request when the target has no such
field/enumerator. Errors (ambiguous bitfields, array misuse) raise
CoreRelocationError.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple, Union

from pybpf.btf.types import Enum, Enum64, Kind
from pybpf.core.access import AccessSpec
from pybpf.core.kinds import RelocKind
from pybpf.core.typeinfo import int_signed, is_any_enum, members, resolve_size, skip_mods
from pybpf.errors import CoreRelocationError

MASK64 = (1 << 64) - 1


class PoisonRequest(Exception):
    """The target side has nothing to relocate to: poison the instruction."""


@dataclass
class Computed:
    """Values for one relocation against one candidate (or none)."""

    orig_val: int = 0
    new_val: int = 0
    poison: bool = False
    validate: bool = True
    fail_memsz_adjust: bool = False
    orig_sz: int = 0
    new_sz: int = 0


@dataclass
class _Field:
    """A field relocation computed against one side: value, access size and type id, and
    whether the compiled instruction is checked against it (not for bitfields)."""

    val: int = 0
    size: int = 0  # load/store size for BYTE_OFFSET of a whole field, else 0
    type_id: int = 0
    validate: bool = True


def _field_value(kind: RelocKind, spec: Optional[AccessSpec]) -> _Field:
    if kind == RelocKind.FIELD_EXISTS:
        return _Field(1 if spec is not None else 0)
    if spec is None:
        raise PoisonRequest()
    acc = spec.accessors[-1]
    if acc.name is None:  # the last step is an array index (or the root)
        if kind == RelocKind.FIELD_BYTE_OFFSET:
            return _Field(spec.bit_offset // 8, resolve_size(spec.btf, acc.type_id), acc.type_id)
        if kind == RelocKind.FIELD_BYTE_SIZE:
            return _Field(resolve_size(spec.btf, acc.type_id))
        raise CoreRelocationError(f"relocation {kind.name} cannot be applied to an array "
                                  "element access")
    member = members(spec.btf, acc.type_id)[acc.idx]
    field_id, mt = skip_mods(spec.btf, member.type)
    bit_off = spec.bit_offset
    bit_sz = member.bitfield_size or 0
    bitfield = bit_sz > 0
    if bitfield:
        byte_sz = mt.size
        byte_off = bit_off // 8 // byte_sz * byte_sz
        # smallest load that covers the whole bitfield
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise CoreRelocationError(f"bitfield {acc.name!r} at bit {bit_off} of "
                                          f"{bit_sz} bits cannot be read with one 64-bit load")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = resolve_size(spec.btf, field_id)
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    out = _Field(validate=not bitfield)  # the compiler's bitfield choices may differ from ours
    if kind == RelocKind.FIELD_BYTE_OFFSET:
        out.val = byte_off
        if not bitfield:
            out.size, out.type_id = byte_sz, field_id
    elif kind == RelocKind.FIELD_BYTE_SIZE:
        out.val = byte_sz
    elif kind == RelocKind.FIELD_SIGNED:
        signed = ((is_any_enum(mt) and bool(mt.signed))
                  or (mt.kind == Kind.INT and int_signed(mt)))
        out.val, out.validate = int(signed), True
    elif kind == RelocKind.FIELD_LSHIFT_U64:
        out.val = 64 - (bit_off + bit_sz - byte_off * 8)
    elif kind == RelocKind.FIELD_RSHIFT_U64:
        out.val, out.validate = 64 - bit_sz, True
    return out


def _type_value(kind: RelocKind, spec: Optional[AccessSpec]) -> Tuple[int, bool]:
    """(value, validate) of a type-based relocation; missing types give 0."""
    if spec is None:
        return 0, True
    if kind == RelocKind.TYPE_ID_TARGET:
        return spec.root_type_id, False  # ids move during linking: not checked
    if kind in (RelocKind.TYPE_EXISTS, RelocKind.TYPE_MATCHES):
        return 1, True
    if kind == RelocKind.TYPE_SIZE:
        return resolve_size(spec.btf, spec.root_type_id), True
    raise CoreRelocationError(f"unexpected type relocation {kind.name}")


def enum_value(t: Union[Enum, Enum64], idx: int) -> int:
    """An enumerator's value as the 64-bit pattern libbpf compares and patches.

    32-bit enumerators are stored as s32 and widen with their sign; 64-bit
    ones are taken as unsigned.
    """
    value = t.values[idx].value
    if t.kind == Kind.ENUM:
        value = ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    return value & MASK64


def _enumval_value(kind: RelocKind, spec: Optional[AccessSpec]) -> int:
    if kind == RelocKind.ENUMVAL_EXISTS:
        return 1 if spec is not None else 0
    if spec is None:
        raise PoisonRequest()
    acc = spec.accessors[0]
    t = spec.btf[acc.type_id]
    if not isinstance(t, (Enum, Enum64)):
        raise CoreRelocationError(f"enumerator relocation against BTF type [{acc.type_id}], "
                                  "not an enum")
    return enum_value(t, acc.idx)


def _memsz_adjust_ok(local: AccessSpec, lf: _Field, targ: AccessSpec, tf: _Field) -> bool:
    """May a load/store change size from lf.size to tf.size (pointers, unsigned ints)."""
    lt, tt = local.btf[lf.type_id], targ.btf[tf.type_id]
    if lt.kind == Kind.PTR and tt.kind == Kind.PTR:
        return True
    return (lt.kind == Kind.INT and tt.kind == Kind.INT
            and not int_signed(lt) and not int_signed(tt))


def compute(kind: RelocKind, local: AccessSpec, targ: Optional[AccessSpec]) -> Computed:
    """Values of relocation ``kind`` for ``local`` against ``targ`` (None: no match)."""
    res = Computed()
    try:
        if kind.is_field:
            lf = _field_value(kind, local)
            tf = _field_value(kind, targ)
            res.orig_val, res.validate, res.orig_sz = lf.val, lf.validate, lf.size
            res.new_val, res.new_sz = tf.val, tf.size
            if targ is not None and lf.size != tf.size:
                res.fail_memsz_adjust = not _memsz_adjust_ok(local, lf, targ, tf)
        elif kind.is_type:
            res.orig_val, res.validate = _type_value(kind, local)
            res.new_val, _ = _type_value(kind, targ)
        elif kind.is_enumval:
            res.orig_val = _enumval_value(kind, local)
            res.new_val = _enumval_value(kind, targ)
        else:
            raise CoreRelocationError(f"unknown CO-RE relocation kind {int(kind)}")
    except PoisonRequest:
        res.poison = True
    return res
