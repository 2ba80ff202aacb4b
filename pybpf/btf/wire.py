"""The BTF wire format: header layout, per-kind record sizes, encoding and decoding of one type.

Types are read from and written to sequences of u32 words (a ``memoryview``
cast to ``'I'`` or an ``array('I')``); every field of a BTF type record is a
u32, so a type is a run of words starting at its ``name_off``.
"""
from __future__ import annotations

import struct
from array import array
from typing import Callable, List, Sequence

from ..errors import BTFError
from .types import (
    BTF_MAX_VLEN,
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Volatile,
)

HEADER = struct.Struct("<HBBIIIII")  # magic, version, flags, hdr_len, type_off/len, str_off/len
HEADER_BE = struct.Struct(">HBBIIIII")
HEADER_LEN = HEADER.size

# Words after the 3-word btf_type header: (fixed, per vlen entry), indexed by kind.
FIXED_WORDS = (0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0)
VLEN_WORDS = (0, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3)
KIND_MAX = len(FIXED_WORDS) - 1


def info_word(kind: int, vlen: int = 0, kflag: bool = False) -> int:
    return (int(kflag) << 31) | (kind << 24) | vlen


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def decode_type(w: Sequence[int], pos: int, string: Callable[[int], str],
                check_id: Callable[[int], int]) -> Type:
    """Decode the type whose record starts at word ``pos`` of ``w``.

    ``string`` maps a string offset to its text and ``check_id`` validates a
    referenced type id (both raise BTFError).
    """
    name_off = w[pos]
    info = w[pos + 1]
    st = w[pos + 2]
    kind = (info >> 24) & 0x1F
    vlen = info & 0xFFFF
    kflag = bool(info >> 31)
    p = pos + 3
    if kind == Kind.INT:
        data = w[p]
        return Int(string(name_off), st, (data >> 24) & 0x0F, data & 0xFF, (data >> 16) & 0xFF)
    if kind == Kind.PTR:
        return Ptr(check_id(st))
    if kind == Kind.ARRAY:
        return Array(check_id(w[p]), check_id(w[p + 1]), w[p + 2])
    if kind == Kind.STRUCT or kind == Kind.UNION:
        members = []
        for i in range(p, p + 3 * vlen, 3):
            off = w[i + 2]
            if kflag:
                m = Member(string(w[i]), check_id(w[i + 1]), off & 0xFFFFFF, off >> 24)
            else:
                m = Member(string(w[i]), check_id(w[i + 1]), off, 0)
            members.append(m)
        cls = Struct if kind == Kind.STRUCT else Union
        return cls(string(name_off), st, members)
    if kind == Kind.ENUM:
        if kflag:
            values = [EnumValue(string(w[i]), _s32(w[i + 1])) for i in range(p, p + 2 * vlen, 2)]
        else:
            values = [EnumValue(string(w[i]), w[i + 1]) for i in range(p, p + 2 * vlen, 2)]
        return Enum(string(name_off), st, kflag, values)
    if kind == Kind.ENUM64:
        values = []
        for i in range(p, p + 3 * vlen, 3):
            v = (w[i + 2] << 32) | w[i + 1]
            if kflag and v >> 63:
                v -= 1 << 64
            values.append(EnumValue(string(w[i]), v))
        return Enum64(string(name_off), st, kflag, values)
    if kind == Kind.FWD:
        return Fwd(string(name_off), kflag)
    if kind == Kind.TYPEDEF:
        return Typedef(string(name_off), check_id(st))
    if kind == Kind.VOLATILE:
        return Volatile(check_id(st))
    if kind == Kind.CONST:
        return Const(check_id(st))
    if kind == Kind.RESTRICT:
        return Restrict(check_id(st))
    if kind == Kind.TYPE_TAG:
        return TypeTag(string(name_off), check_id(st), kflag)
    if kind == Kind.FUNC:
        return Func(string(name_off), check_id(st), vlen)
    if kind == Kind.FUNC_PROTO:
        params = [Param(string(w[i]), check_id(w[i + 1])) for i in range(p, p + 2 * vlen, 2)]
        return FuncProto(check_id(st), params)
    if kind == Kind.VAR:
        return Var(string(name_off), check_id(st), w[p])
    if kind == Kind.DATASEC:
        secinfos = [VarSecinfo(check_id(w[i]), w[i + 1], w[i + 2])
                    for i in range(p, p + 3 * vlen, 3)]
        return Datasec(string(name_off), st, secinfos)
    if kind == Kind.FLOAT:
        return Float(string(name_off), st)
    if kind == Kind.DECL_TAG:
        return DeclTag(string(name_off), check_id(st), _s32(w[p]), kflag)
    raise BTFError(f"unknown BTF kind {kind} at word {pos}")


def encode_type(t: Type, stroff: Callable[[str], int]) -> List[int]:
    """The u32 words of ``t``; ``stroff`` returns the string offset of a name."""
    k = t.kind
    if isinstance(t, Int):
        if not 0 <= t.offset < 256 or not 0 <= t.bits < 256 or not 0 <= t.encoding < 16:
            raise BTFError(f"int {t.name!r}: bits/offset/encoding out of range")
        return [stroff(t.name), info_word(k), t.size,
                (t.encoding << 24) | (t.offset << 16) | t.bits]
    if isinstance(t, (Volatile, Ptr)):  # Const and Restrict derive from Volatile
        return [0, info_word(k), t.type]
    if isinstance(t, Array):
        return [0, info_word(k), 0, t.type, t.index_type, t.nelems]
    if isinstance(t, Struct):  # and Union
        _check_vlen(t, len(t.members))
        kflag = any(m.bitfield_size for m in t.members)
        words = [stroff(t.name), info_word(k, len(t.members), kflag), t.size]
        for m in t.members:
            off = m.bit_offset
            if kflag:
                if not 0 <= off <= 0xFFFFFF or not 0 <= m.bitfield_size < 256:
                    raise BTFError(f"{t.name or 'anonymous struct'}: member {m.name!r} "
                                   f"bit offset or bitfield size out of range")
                off |= m.bitfield_size << 24
            words += (stroff(m.name), m.type, off)
        return words
    if isinstance(t, Enum):  # and Enum64
        _check_vlen(t, len(t.values))
        words = [stroff(t.name), info_word(k, len(t.values), t.signed), t.size]
        if k == Kind.ENUM64:
            for v in t.values:
                u = v.value & 0xFFFFFFFFFFFFFFFF
                words += (stroff(v.name), u & 0xFFFFFFFF, u >> 32)
        else:
            for v in t.values:
                words += (stroff(v.name), v.value & 0xFFFFFFFF)
        return words
    if isinstance(t, Fwd):
        return [stroff(t.name), info_word(k, 0, t.union), 0]
    if isinstance(t, Typedef):
        return [stroff(t.name), info_word(k), t.type]
    if isinstance(t, TypeTag):
        return [stroff(t.name), info_word(k, 0, t.attribute), t.type]
    if isinstance(t, Func):
        return [stroff(t.name), info_word(k, t.linkage), t.type]
    if isinstance(t, FuncProto):
        _check_vlen(t, len(t.params))
        words = [0, info_word(k, len(t.params)), t.return_type]
        for prm in t.params:
            words += (stroff(prm.name), prm.type)
        return words
    if isinstance(t, Var):
        return [stroff(t.name), info_word(k), t.type, t.linkage]
    if isinstance(t, Datasec):
        _check_vlen(t, len(t.vars))
        words = [stroff(t.name), info_word(k, len(t.vars)), t.size]
        for vsi in t.vars:
            words += (vsi.type, vsi.offset, vsi.size)
        return words
    if isinstance(t, Float):
        return [stroff(t.name), info_word(k), t.size]
    if isinstance(t, DeclTag):
        return [stroff(t.name), info_word(k, 0, t.attribute), t.type,
                t.component_idx & 0xFFFFFFFF]
    raise BTFError(f"cannot encode {type(t).__name__} as a BTF type")


def _check_vlen(t: Type, n: int) -> None:
    if n > BTF_MAX_VLEN:
        raise BTFError(f"{t.kind.name.lower()} {t.name!r}: {n} entries, more than {BTF_MAX_VLEN}")


def encode_to_bytes(t: Type, stroff: Callable[[str], int], what: str) -> bytes:
    """Encode ``t`` to bytes; errors are prefixed with ``what`` (e.g. "type id 5")."""
    try:
        return words_to_bytes(encode_type(t, stroff), what)
    except BTFError as e:
        if str(e).startswith(what):
            raise
        raise BTFError(f"{what}: {e}") from None


def words_to_bytes(words: List[int], what: str) -> bytes:
    """Pack u32 words little-endian, naming ``what`` if a value does not fit."""
    try:
        arr = array("I", words)
    except OverflowError:
        raise BTFError(f"{what}: a field does not fit in 32 bits") from None
    if struct.pack("=I", 1) != struct.pack("<I", 1):
        arr.byteswap()
    return arr.tobytes()
