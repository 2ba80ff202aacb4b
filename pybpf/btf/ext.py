""".BTF.ext parsing: func_info, line_info and CO-RE relocation records per ELF section.

Layout (all offsets relative to the end of the header): a header with magic,
version, flags, hdr_len, then (offset, length) pairs for func_info, line_info
and, when hdr_len allows, core_relo. Each info block is a u32 record size
followed by, per ELF section, ``(sec_name_off, num_records)`` and the records.
Section names and strings come from the object's .BTF string table.
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Callable, Dict, List, NamedTuple, Tuple, TypeVar

from ..errors import BTFError
from .spec import Spec
from .types import BTF_MAGIC

T = TypeVar("T")

FUNC_INFO_MIN = 8
LINE_INFO_MIN = 16
CORE_RELO_MIN = 16


class CoreReloKind(enum.IntEnum):
    """enum bpf_core_relo_kind of the uapi."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12

    @property
    def is_field(self) -> bool:
        return self <= CoreReloKind.FIELD_RSHIFT_U64

    @property
    def is_type(self) -> bool:
        return self in _TYPE_KINDS

    @property
    def is_enumval(self) -> bool:
        return self in (CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE)

    @property
    def short(self) -> str:
        """libbpf's name for the kind, as in its debug log (``byte_off``)."""
        return _SHORT[self]


_TYPE_KINDS = frozenset((CoreReloKind.TYPE_ID_LOCAL, CoreReloKind.TYPE_ID_TARGET,
                         CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_SIZE,
                         CoreReloKind.TYPE_MATCHES))

_SHORT = {
    CoreReloKind.FIELD_BYTE_OFFSET: "byte_off",
    CoreReloKind.FIELD_BYTE_SIZE: "byte_sz",
    CoreReloKind.FIELD_EXISTS: "field_exists",
    CoreReloKind.FIELD_SIGNED: "signed",
    CoreReloKind.FIELD_LSHIFT_U64: "lshift_u64",
    CoreReloKind.FIELD_RSHIFT_U64: "rshift_u64",
    CoreReloKind.TYPE_ID_LOCAL: "local_type_id",
    CoreReloKind.TYPE_ID_TARGET: "target_type_id",
    CoreReloKind.TYPE_EXISTS: "type_exists",
    CoreReloKind.TYPE_SIZE: "type_size",
    CoreReloKind.ENUMVAL_EXISTS: "enumval_exists",
    CoreReloKind.ENUMVAL_VALUE: "enumval_value",
    CoreReloKind.TYPE_MATCHES: "type_matches",
}


@dataclass
class FuncInfo:
    """One bpf_func_info record: where a function starts, and its FUNC type."""

    insn_off: int  # bytes from the start of the ELF section
    type_id: int   # a FUNC type


@dataclass
class LineInfo:
    """One bpf_line_info record, with its file name and source line resolved."""

    insn_off: int
    file_name: str
    line: int
    col: int
    line_text: str
    file_name_off: int = 0  # string offsets, for re-encoding against the same .BTF
    line_off: int = 0


@dataclass
class CoreRelo:
    """One bpf_core_relo record: the instruction, local type, accessor and kind."""

    insn_off: int
    type_id: int
    access_str: str
    kind: CoreReloKind


@dataclass
class BTFExt:
    """Records per ELF section name, in file order."""

    func_info: Dict[str, List[FuncInfo]] = field(default_factory=dict)
    line_info: Dict[str, List[LineInfo]] = field(default_factory=dict)
    core_relos: Dict[str, List[CoreRelo]] = field(default_factory=dict)
    func_info_rec_size: int = FUNC_INFO_MIN
    line_info_rec_size: int = LINE_INFO_MIN
    core_relo_rec_size: int = CORE_RELO_MIN


# struct btf_ext_header, then (when hdr_len reaches them) the core_relo offset and length.
# Kept to the struct module rather than construct: every load reads a .BTF.ext, and
# importing construct costs about 30 ms after pybpf.elf, more than reading a whole
# gadget object (trace_exec: 19 ms), for a 32-byte header.
class _Header(NamedTuple):
    magic: int
    version: int
    flags: int
    hdr_len: int
    func_info_off: int
    func_info_len: int
    line_info_off: int
    line_info_len: int


_HEADER = "HBBI4I"
_CORE_RELO_PAIR = "2I"  # at offset 24, present when hdr_len >= 32


def parse_ext(data: bytes, spec: Spec) -> BTFExt:
    """Parse a .BTF.ext section against its object's .BTF ``spec``; BTFError if malformed."""
    mv = memoryview(data).cast("B")
    if len(mv) < 24:
        raise BTFError(f".BTF.ext: {len(mv)} bytes is too short for a header")
    magic = struct.unpack_from("<H", mv)[0]
    if magic == BTF_MAGIC:
        end = "<"
    elif magic == struct.unpack("<H", struct.pack(">H", BTF_MAGIC))[0]:
        end = ">"
    else:
        raise BTFError(f".BTF.ext: bad magic 0x{magic:04x} at offset 0")
    hdr = _Header(*struct.unpack_from(end + _HEADER, mv))
    hdr_len = hdr.hdr_len
    if hdr.version != 1:
        raise BTFError(f".BTF.ext: unsupported version {hdr.version} at offset 2")
    if hdr_len < 24 or hdr_len > len(mv):
        raise BTFError(f".BTF.ext: header length {hdr_len} at offset 4 is outside 24..{len(mv)}")
    fi_off, fi_len = hdr.func_info_off, hdr.func_info_len
    li_off, li_len = hdr.line_info_off, hdr.line_info_len
    co_off = co_len = 0
    if hdr_len >= 32:
        co_off, co_len = struct.unpack_from(end + _CORE_RELO_PAIR, mv, 24)
    body = mv[hdr_len:]
    ext = BTFExt()

    def func(rec: Tuple[int, ...]) -> FuncInfo:
        return FuncInfo(rec[0], rec[1])

    def line(rec: Tuple[int, ...]) -> LineInfo:
        return LineInfo(rec[0], spec.string(rec[1]), rec[3] >> 10, rec[3] & 0x3FF,
                        spec.string(rec[2]), rec[1], rec[2])

    def relo(rec: Tuple[int, ...]) -> CoreRelo:
        try:
            kind = CoreReloKind(rec[3])
        except ValueError:
            raise BTFError(f".BTF.ext: CO-RE relocation at insn offset {rec[0]} has unknown "
                           f"kind {rec[3]}") from None
        return CoreRelo(rec[0], rec[1], spec.string(rec[2]), kind)

    ext.func_info_rec_size = _parse_block(body, hdr_len, end, "func_info", fi_off, fi_len,
                                          FUNC_INFO_MIN, spec, func, ext.func_info)
    ext.line_info_rec_size = _parse_block(body, hdr_len, end, "line_info", li_off, li_len,
                                          LINE_INFO_MIN, spec, line, ext.line_info)
    ext.core_relo_rec_size = _parse_block(body, hdr_len, end, "core_relo", co_off, co_len,
                                          CORE_RELO_MIN, spec, relo, ext.core_relos)
    return ext


def _parse_block(body: memoryview, hdr_len: int, end: str, what: str, off: int, length: int,
                 min_size: int, spec: Spec, make: Callable[[Tuple[int, ...]], T],
                 out: Dict[str, List[T]]) -> int:
    """Parse one info block into ``out``; returns its record size."""
    if length == 0:
        return min_size
    if off + length > len(body):
        raise BTFError(f".BTF.ext: {what} {off}+{length} runs past the end of the section")
    if length < 4:
        raise BTFError(f".BTF.ext: {what} block of {length} bytes has no record size")
    block = body[off:off + length]
    rec_size: int = struct.unpack_from(end + "I", block)[0]
    if rec_size < min_size or rec_size % 4:
        raise BTFError(f".BTF.ext: {what} record size {rec_size} at offset {hdr_len + off} "
                       f"(minimum {min_size}, multiple of 4)")
    fmt = struct.Struct(end + "%dI" % (min_size // 4))
    pos = 4
    while pos < length:
        at = hdr_len + off + pos
        if pos + 8 > length:
            raise BTFError(f".BTF.ext: {what} section header at offset {at} is truncated")
        name_off, count = struct.unpack_from(end + "2I", block, pos)
        pos += 8
        if count == 0:
            raise BTFError(f".BTF.ext: {what} section at offset {at} has no records")
        if pos + count * rec_size > length:
            raise BTFError(f".BTF.ext: {what} section at offset {at}: {count} records of "
                           f"{rec_size} bytes run past the end")
        try:
            sec = spec.string(name_off)
        except BTFError as e:
            raise BTFError(f".BTF.ext: {what} section name at offset {at}: {e}") from None
        try:
            recs = [make(fmt.unpack_from(block, p))
                    for p in range(pos, pos + count * rec_size, rec_size)]
        except BTFError as e:
            if str(e).startswith(".BTF.ext"):
                raise
            raise BTFError(f".BTF.ext: {what} of section {sec!r}: {e}") from None
        out.setdefault(sec, []).extend(recs)
        pos += count * rec_size
    return rec_size


def pack_func_info(infos: List[FuncInfo], insn_base: int = 0) -> bytes:
    """``struct bpf_func_info`` records for BPF_PROG_LOAD (insn_off in instructions here).

    ``insn_base`` is subtracted from each byte offset before dividing by 8.
    """
    return b"".join(struct.pack("<II", (i.insn_off - insn_base) // 8, i.type_id) for i in infos)


def pack_line_info(infos: List[LineInfo], insn_base: int = 0) -> bytes:
    """``struct bpf_line_info`` records for BPF_PROG_LOAD (string offsets from .BTF)."""
    return b"".join(struct.pack("<IIII", (i.insn_off - insn_base) // 8, i.file_name_off,
                                i.line_off, (i.line << 10) | i.col) for i in infos)
