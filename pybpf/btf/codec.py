"""Codec: decode and encode C values (event structs, map keys/values) from their BTF.

``Codec.for_type(spec, type_id)`` builds, once per type, a decoder and an
encoder specialised to the layout: the type's fields are laid out into one
precompiled ``struct.Struct`` (padding as ``x``, char arrays as ``Ns``,
bitfields read through the smallest integer covering them) and a small
generated function turns the unpacked tuple into dicts, lists, ints, floats
and strings. Fields that overlap an earlier one (union members after the
first) are decoded by a nested codec at their offset.

Values: integers, enums and pointers -> int; bool -> bool; float/double ->
float; ``char[N]`` -> str up to the first NUL; other byte arrays (``__u8[N]``)
-> bytes; other arrays -> list; structs/unions -> dict by member name, the
members of anonymous struct/union members merged into the parent; a data
section (``.bss``, ``.data``, ``.rodata``) -> dict by variable name. Encoding
takes the same shapes; missing dict keys encode as zero. (Hence ``Any`` for
values here: their Python type is decided by the BTF type at run time.)

A buffer shorter than the type (a ring or perf record with a variable-length
tail) decodes as if zero-padded to the type's size, except that each array
member of a struct holds only the elements the buffer reaches: bytes and
lists are cut there, strings end there.
"""
from __future__ import annotations

import struct
import threading
import weakref
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import BTFError
from .spec import Spec
from .types import (
    INT_BOOL,
    INT_CHAR,
    INT_SIGNED,
    Array,
    Datasec,
    Enum,
    Float,
    Int,
    Kind,
    Member,
    Struct,
    Var,
)

_CACHE: "weakref.WeakKeyDictionary[Spec, Dict[int, Codec]]" = weakref.WeakKeyDictionary()
_INT_FMT = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
            (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}
_UNSIGNED_FMT = {1: "B", 2: "H", 4: "I", 8: "Q"}
_INLINE_ARRAY_MAX = 32  # arrays of aggregates up to this length are unrolled ...
_INLINE_SLOTS_MAX = 2048  # ... while the layout has fewer slots than this
_INLINE_DEPTH_MAX = 24  # aggregates nested deeper get a nested codec
_NESTED_CODECS_MAX = 64  # codecs being built inside one another (types nested that deep)
_LOCAL = threading.local()  # .building: (id(spec), type_id) of codecs under construction


def _cstr(raw: bytes) -> str:
    end = raw.find(b"\0")
    return (raw if end < 0 else raw[:end]).decode("utf-8", "replace")


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _item(value: Any, i: int) -> Any:
    return value[i] if value is not None and i < len(value) else None


def _num(value: Any) -> Any:
    return 0 if value is None else value


def _enc_str(value: Any) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else bytes(value)


def _nums(value: Any, n: int) -> List[Any]:
    items = list(value or ())[:n]
    return items + [0] * (n - len(items))


class _Layout:
    """Accumulates one struct format plus the decode expressions and encode arguments."""

    def __init__(self, spec: Spec, name: str) -> None:
        self.spec = spec
        self.name = name
        self.fmt: List[str] = ["<"]
        self.pos = 0
        self.count = 0
        self.env: Dict[str, Any] = {"_cstr": _cstr, "_get": _get, "_item": _item, "_num": _num,
                                    "_enc_str": _enc_str, "_nums": _nums,
                                    "_from_bytes": int.from_bytes}
        self.enc_args: List[str] = []   # pack arguments, in format order
        self.enc_post: List[str] = []   # statements run after packing (overlapping fields)
        self.depth = 0
        self.bound = 0  # nested codecs the expressions refer to

    def _fail(self, msg: str) -> BTFError:
        return BTFError(f"{self.spec.name}: cannot build a codec for {self.name}: {msg}")

    def slot(self, off: int, code: str, count: int = 1) -> int:
        """Place ``code`` (covering ``count`` tuple items) at byte ``off``; its first index."""
        if off > self.pos:
            self.fmt.append(f"{off - self.pos}x")
        self.fmt.append(code)
        self.pos = off + struct.calcsize("<" + code)
        idx = self.count
        self.count += count
        return idx

    def bind(self, obj: Any) -> str:
        key = f"_o{len(self.env)}"
        self.env[key] = obj
        self.bound += 1
        return key

    def value(self, type_id: int, off: int, acc: str) -> str:
        """Decode expression for ``type_id`` at byte ``off``; records how to encode ``acc``."""
        spec = self.spec
        tid = spec.resolve(type_id)
        t = spec[tid]
        nest = isinstance(t, (Struct, Array)) and self.depth >= _INLINE_DEPTH_MAX
        if off < self.pos or nest:  # overlaps what is laid out, or too deep: a nested codec
            sub = self.bind(Codec.for_type(spec, type_id))
            self.enc_post.append(f"if {acc} is not None: {sub}.encode_into(buf, base + {off}, "
                                 f"{acc})")
            return f"{sub}.decode_from(buf, base + {off})"
        if isinstance(t, Int):
            if t.offset or t.bits != t.size * 8:
                raise self._fail(f"int type id {tid} with bit offset/width is not supported")
            if t.encoding & INT_BOOL and t.size == 1:
                i = self.slot(off, "?")
                self.enc_args.append(f"bool({acc})")
                return f"v[{i}]"
            return self._integer(t.size, bool(t.encoding & INT_SIGNED), off, acc)
        if isinstance(t, Enum):  # and Enum64
            return self._integer(t.size, t.signed, off, acc)
        if t.kind == Kind.PTR:
            return self._integer(8, False, off, acc)
        if isinstance(t, Float):
            code = {4: "f", 8: "d"}.get(t.size)
            if code is None:
                i = self.slot(off, f"{t.size}s")
                self.enc_args.append(f"_enc_str({acc})")
                return f"v[{i}]"
            i = self.slot(off, code)
            self.enc_args.append(f"float(_num({acc}))")
            return f"v[{i}]"
        if isinstance(t, Array):
            self.depth += 1
            try:
                return self._array(t, off, acc)
            finally:
                self.depth -= 1
        if isinstance(t, Struct):  # and Union
            items: List[str] = []
            self.depth += 1
            try:
                self._members(tid, off, acc, items)
            finally:
                self.depth -= 1
            return "{" + ", ".join(items) + "}"
        if isinstance(t, Datasec):
            items = [f"{spec[v.type].name!r}: "
                     + self.value(_var_type(spec, v.type), off + v.offset,
                                  f"_get({acc}, {spec[v.type].name!r})")
                     for v in sorted(t.vars, key=lambda v: v.offset)]
            return "{" + ", ".join(items) + "}"
        raise self._fail(f"type id {tid} ({t.kind.name}) has no value layout")

    def _integer(self, size: int, signed: bool, off: int, acc: str) -> str:
        code = _INT_FMT.get((size, signed))
        if code is None:  # __int128 and other odd sizes
            i = self.slot(off, f"{size}s")
            self.enc_args.append(f"_num({acc}).to_bytes({size}, 'little', signed={signed})")
            return f"_from_bytes(v[{i}], 'little', signed={signed})"
        i = self.slot(off, code)
        self.enc_args.append(f"_num({acc})")
        return f"v[{i}]"

    def _array(self, t: Array, off: int, acc: str) -> str:
        spec = self.spec
        n = t.nelems
        if n == 0:
            return "[]"
        eid = spec.resolve(t.type)
        elem = spec[eid]
        if isinstance(elem, Int) and elem.size == 1 and elem.bits == 8 and not elem.encoding & \
                INT_BOOL:
            i = self.slot(off, f"{n}s")
            self.enc_args.append(f"_enc_str({acc})")
            if elem.encoding & INT_CHAR or elem.name == "char":
                return f"_cstr(v[{i}])"
            return f"v[{i}]"
        esize = spec.size_of(eid)
        code = None
        if isinstance(elem, (Int, Enum)) and not (isinstance(elem, Int) and (
                elem.offset or elem.bits != elem.size * 8 or elem.encoding & INT_BOOL)):
            signed = elem.signed
            code = _INT_FMT.get((elem.size, signed))
        elif elem.kind == Kind.PTR:
            code = "Q"
        elif isinstance(elem, Float):
            code = {4: "f", 8: "d"}.get(elem.size)
        if code is not None:
            i = self.slot(off, f"{n}{code}", n)
            self.enc_args.append(f"*_nums({acc}, {n})")
            return f"list(v[{i}:{i + n}])"
        if n <= _INLINE_ARRAY_MAX and self.count < _INLINE_SLOTS_MAX:
            parts = [self.value(eid, off + k * esize, f"_item({acc}, {k})") for k in range(n)]
            return "[" + ", ".join(parts) + "]"
        sub = self.bind(Codec.for_type(spec, eid))
        self.enc_post.append(f"for _k, _e in enumerate(({acc} or ())[:{n}]): "
                             f"{sub}.encode_into(buf, base + {off} + _k * {esize}, _e)")
        return f"[{sub}.decode_from(buf, base + {off} + _k * {esize}) for _k in range({n})]"

    def _members(self, tid: int, off: int, acc: str, items: List[str]) -> None:
        t: Struct = self.spec[tid]  # type: ignore[assignment]
        members = t.members
        i = 0
        while i < len(members):
            m = members[i]
            if m.bitfield_size:
                j = i
                while j < len(members) and members[j].bitfield_size:
                    j += 1
                self._bitfields(members[i:j], off, acc, items)
                i = j
                continue
            i += 1
            moff = off + m.bit_offset // 8
            if m.bit_offset % 8:
                raise self._fail(f"member {m.name!r} of type id {tid} is not byte aligned")
            if not m.name:
                inner = self.spec.resolve(m.type)
                if isinstance(self.spec[inner], Struct) and moff >= self.pos:
                    self._members(inner, moff, acc, items)
                elif isinstance(self.spec[inner], Struct):
                    sub = self.bind(Codec.for_type(self.spec, inner))
                    items.append(f"**{sub}.decode_from(buf, base + {moff})")
                    self.enc_post.append(f"{sub}.encode_into(buf, base + {moff}, {acc})")
                continue  # an unnamed non-aggregate is padding
            items.append(f"{m.name!r}: " + self.value(m.type, moff, f"_get({acc}, {m.name!r})"))

    def _bitfields(self, members: List[Member], off: int, acc: str, items: List[str]) -> None:
        spec = self.spec
        start = min(m.bit_offset for m in members) // 8
        end = (max(m.bit_offset + m.bitfield_size for m in members) + 7) // 8
        if off + start < self.pos:
            raise self._fail(f"bitfield {members[0].name!r} overlaps an earlier member")
        width = end - start
        code = _UNSIGNED_FMT.get(width)
        i = self.slot(off + start, code if code else f"{width}s")
        word = f"v[{i}]" if code else f"_from_bytes(v[{i}], 'little')"
        parts = []
        for m in members:
            shift = m.bit_offset - start * 8
            mask = (1 << m.bitfield_size) - 1
            t = spec[spec.resolve(m.type)]
            signed = bool(getattr(t, "signed", False))
            if isinstance(t, Int):
                signed = bool(t.encoding & INT_SIGNED)
            expr = f"(({word} >> {shift}) & {mask})"
            if signed:
                top = 1 << (m.bitfield_size - 1)
                expr = f"(({expr} ^ {top}) - {top})"
            if m.name:
                items.append(f"{m.name!r}: {expr}")
                parts.append(f"((_num(_get({acc}, {m.name!r})) & {mask}) << {shift})")
        packed = " | ".join(parts) or "0"
        if code:
            self.enc_args.append(packed)
        else:
            self.enc_args.append(f"({packed}).to_bytes({width}, 'little')")


class Codec:
    """Decoder/encoder for one BTF type: ``size``, ``decode``, ``encode`` and offset forms."""

    def __init__(self, spec: Spec, type_id: int) -> None:
        self.spec = spec
        self.type_id = type_id
        self.name = spec.name_of(spec.resolve(type_id)) or f"type id {type_id}"
        self.size = spec.size_of(type_id)
        layout = _Layout(spec, f"{self.name} (type id {type_id})")
        expr = layout.value(type_id, 0, "value")
        if layout.pos < self.size:
            layout.fmt.append(f"{self.size - layout.pos}x")
        fmt = struct.Struct("".join(layout.fmt))
        self.struct = fmt
        # the decode expression over the unpacked tuple ``v`` when it stands alone (no
        # nested codec): what pybpf.decoders keeps so a later start needs no BTF
        self.expression: Optional[str] = None if layout.bound else expr
        env = layout.env
        env["_unpack"] = fmt.unpack_from
        env["_pack_into"] = fmt.pack_into
        env["_error"] = struct.error
        env["_wrap"] = self._wrap
        src = [
            "def decode_from(buf, base=0):",
            "    try:",
            "        v = _unpack(buf, base)",
            f"        return {expr}",
            "    except _error as e:",
            "        raise _wrap(e, buf, base) from None",
            "def encode_into(buf, base, value):",
            "    try:",
            f"        _pack_into(buf, base, {', '.join(layout.enc_args)})",
            "    except _error as e:",
            "        raise _wrap(e, buf, base, value) from None",
        ] + [f"    {stmt}" for stmt in layout.enc_post]
        exec("\n".join(src), env)  # noqa: S102 - our own generated code, from BTF layout
        self.decode_from: Callable[..., Any] = env["decode_from"]
        self.encode_into: Callable[[Any, int, Any], None] = env["encode_into"]
        top = spec[spec.resolve(type_id)]
        self._record = isinstance(top, (Struct, Datasec))
        self._arrays = _array_members(spec, top) if isinstance(top, Struct) else []

    @classmethod
    def for_type(cls, spec: Spec, type_id: int) -> "Codec":
        """The codec of ``type_id`` in ``spec``, built on first use and cached per spec."""
        per_spec = _CACHE.setdefault(spec, {})
        codec = per_spec.get(type_id)
        if codec is None:
            key = (id(spec), type_id)
            building = _LOCAL.__dict__.setdefault("building", [])
            if key in building or len(building) >= _NESTED_CODECS_MAX:
                raise BTFError(f"{spec.name}: type id {type_id} contains itself or is nested "
                               f"too deeply for a codec")
            building.append(key)
            try:
                codec = per_spec[type_id] = cls(spec, type_id)
            finally:
                building.pop()
        return codec

    def decode(self, buf: Any) -> Any:
        """Decode the value at the start of ``buf`` (bytes, bytearray, memoryview).

        A shorter ``buf`` (a record with a variable-length tail) decodes as if
        zero-padded, with its struct's array members cut where ``buf`` ends.
        """
        if len(buf) >= self.size:
            return self.decode_from(buf, 0)
        return self._decode_short(buf)

    def _decode_short(self, buf: Any) -> Any:
        have = len(buf)
        value = self.decode_from(bytes(buf) + bytes(self.size - have), 0)
        for name, off, end, esize in self._arrays:
            if end > have:
                item = value[name]
                if not isinstance(item, str):  # a string already ends at the padding
                    value[name] = item[:max(0, have - off) // esize]
        return value

    def encode(self, value: Any) -> bytes:
        """``size`` bytes holding ``value``."""
        if self._record and not isinstance(value, Mapping):
            raise TypeError(f"{self.name}: encoding needs a dict of its members, "
                            f"not {type(value).__name__}")
        buf = bytearray(self.size)
        self.encode_into(buf, 0, value)
        return bytes(buf)

    def _wrap(self, err: Exception, buf: Any, base: int, value: Any = None) -> ValueError:
        if value is None:
            return ValueError(f"{self.name}: cannot decode {self.size} bytes at offset {base} of "
                              f"a {len(buf)}-byte buffer: {err}")
        return ValueError(f"{self.name}: cannot encode {value!r}: {err}")

    def __repr__(self) -> str:
        return f"<Codec {self.name} size={self.size}>"


def _var_type(spec: Spec, type_id: int) -> int:
    """The type of variable ``type_id`` (an entry of a DATASEC)."""
    var = spec[type_id]
    if not isinstance(var, Var):
        raise BTFError(f"DATASEC entry {type_id} is {var.kind.name}, not a VAR")
    return var.type


def _array_members(spec: Spec, struct_type: Struct) -> List[Tuple[str, int, int, int]]:
    """(name, start, end, element size) of the named, byte-aligned array members."""
    out = []
    for m in struct_type.members:
        tid = spec.resolve(m.type)
        t = spec[tid]
        if m.name and isinstance(t, Array) and t.nelems and not m.bit_offset % 8:
            off = m.bit_offset // 8
            out.append((m.name, off, off + spec.size_of(tid), spec.size_of(t.type)))
    return out


def codec_for_name(spec: Spec, name: str, kinds: Tuple[Kind, ...] = (Kind.STRUCT, Kind.UNION,
                                                                      Kind.TYPEDEF)) -> Codec:
    """The codec of the first type called ``name`` whose kind is in ``kinds``."""
    for tid in spec.ids_by_name(name):
        if spec.kind_of(tid) in kinds:
            return Codec.for_type(spec, tid)
    raise BTFError(f"{spec.name}: no {'/'.join(k.name.lower() for k in kinds)} named {name!r}")

