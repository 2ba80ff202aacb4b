"""One BPF instruction slot and the byte codec for instruction streams.

An ld_imm64 occupies two slots, exactly as the kernel counts instruction
indexes: the first carries the low 32 bits of the constant, the second (code
0) the high 32 bits.
"""
from __future__ import annotations

import struct
from typing import Iterable, List, Union

from pybpf.asm import opcodes as op
from pybpf.errors import ParseError
from pybpf.records import Record

_SLOT = struct.Struct("<BBhi")


class Instruction(Record):
    """A single 8-byte instruction slot (mutable: relocation patches it)."""

    __slots__ = ("code", "dst", "src", "off", "imm")

    code: int
    dst: int
    src: int
    off: int
    imm: int

    def __init__(self, code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> None:
        self.code = code
        self.dst = dst
        self.src = src
        self.off = off
        self.imm = imm

    @property
    def cls(self) -> int:
        return self.code & 0x07

    @property
    def is_ld_imm64(self) -> bool:
        return self.code == op.LD_IMM64

    @property
    def is_call(self) -> bool:
        return self.code == op.CALL

    @property
    def is_helper_call(self) -> bool:
        return self.code == op.CALL and self.src == 0

    @property
    def is_pseudo_call(self) -> bool:
        return self.code == op.CALL and self.src == op.BPF_PSEUDO_CALL

    @property
    def is_kfunc_call(self) -> bool:
        return self.code == op.CALL and self.src == op.BPF_PSEUDO_KFUNC_CALL

    @property
    def is_pseudo_func(self) -> bool:
        return self.code == op.LD_IMM64 and self.src == op.BPF_PSEUDO_FUNC

    @property
    def is_exit(self) -> bool:
        return self.code == op.EXIT

    @property
    def is_jump(self) -> bool:
        """A jump with a pc-relative target (not call or exit)."""
        if self.cls not in (op.BPF_JMP, op.BPF_JMP32):
            return False
        return op.op_of(self.code) not in (op.BPF_CALL, op.BPF_EXIT)

    def copy(self) -> "Instruction":
        return Instruction(self.code, self.dst, self.src, self.off, self.imm)

    def encode(self) -> bytes:
        return _SLOT.pack(self.code, (self.src << 4) | (self.dst & 0x0F),
                          _s16(self.off), _s32(self.imm))


def _s16(value: int) -> int:
    return ((value + 0x8000) & 0xFFFF) - 0x8000


def _s32(value: int) -> int:
    return ((value + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def decode(buf: Union[bytes, bytearray, memoryview]) -> List[Instruction]:
    """Split ``buf`` into instruction slots (length must be a multiple of 8)."""
    if len(buf) % op.INSN_SIZE:
        raise ParseError(f"instruction stream of {len(buf)} bytes is not a multiple of 8")
    out = []
    for code, regs, off, imm in _SLOT.iter_unpack(bytes(buf)):
        out.append(Instruction(code, regs & 0x0F, regs >> 4, off, imm))
    return out


def encode(insns: Iterable[Instruction]) -> bytes:
    """The kernel's byte image of ``insns``."""
    return b"".join(insn.encode() for insn in insns)


def ld_imm64_value(insns: List[Instruction], index: int) -> int:
    """The 64-bit constant of the ld_imm64 starting at ``index``."""
    return (insns[index].imm & 0xFFFFFFFF) | ((insns[index + 1].imm & 0xFFFFFFFF) << 32)


def set_ld_imm64_value(insns: List[Instruction], index: int, value: int) -> None:
    """Store a 64-bit constant into both halves of the ld_imm64 at ``index``."""
    value &= 0xFFFFFFFFFFFFFFFF
    insns[index].imm = _s32(value & 0xFFFFFFFF)
    insns[index + 1].imm = _s32(value >> 32)
