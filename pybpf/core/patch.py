"""Apply a computed relocation to its instruction, as libbpf's bpf_core_patch_insn.

Owns instruction patching: ALU/ALU64 immediates, LDX/ST/STX offsets (with the
load/store size change of a resized field), both halves of ld_imm64, the
check that the instruction still carries the value the compiler emitted,
and poisoning (``call 0xbad2310``) of unsatisfiable relocations.
"""
from __future__ import annotations

from typing import List

from pybpf.asm import opcodes as op
from pybpf.asm.instruction import Instruction, ld_imm64_value, set_ld_imm64_value
from pybpf.core.kinds import POISON_IMM
from pybpf.core.result import RelocResult
from pybpf.errors import CoreRelocationError

MASK64 = (1 << 64) - 1
_SIZE_BYTES = {op.BPF_DW: 8, op.BPF_W: 4, op.BPF_H: 2, op.BPF_B: 1}
_BYTES_SIZE = {v: k for k, v in _SIZE_BYTES.items()}
S16_MAX = 0x7FFF


def _s32(value: int) -> int:
    return ((value + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def _error(res: RelocResult, what: str) -> CoreRelocationError:
    return CoreRelocationError(
        f"program {res.program!r}: insn #{res.insn}: CO-RE relocation #{res.index} "
        f"{res.what}: {what}")


def poison(insns: List[Instruction], index: int) -> None:
    """Make slot ``index`` an invalid helper call (both slots of an ld_imm64)."""
    count = 2 if insns[index].is_ld_imm64 and index + 1 < len(insns) else 1
    for i in range(index, index + count):
        insn = insns[i]
        insn.code, insn.dst, insn.src, insn.off, insn.imm = op.CALL, 0, 0, 0, POISON_IMM


def _poison(insns: List[Instruction], res: RelocResult, reason: str) -> str:
    poison(insns, res.insn)
    res.poison = True
    res.reason = res.reason or reason
    return f"poisoned (call 0x{POISON_IMM:x})"


def apply(insns: List[Instruction], res: RelocResult) -> None:
    """Patch ``insns[res.insn]`` per ``res``; sets ``res.patch``; CoreRelocationError if refused."""
    if not 0 <= res.insn < len(insns):
        raise _error(res, f"instruction index out of range (program has {len(insns)} slots)")
    insn = insns[res.insn]
    if res.poison:
        res.patch = _poison(insns, res, res.reason)
        return
    cls = insn.cls
    new = res.new_val & MASK64
    if cls in (op.BPF_ALU, op.BPF_ALU64):
        if insn.code & 0x08 != op.BPF_K:
            raise _error(res, f"ALU instruction (code 0x{insn.code:02x}) has no immediate")
        if res.validate and insn.imm & MASK64 != res.orig_val & MASK64:
            raise _error(res, f"instruction has imm {insn.imm}, expected {res.orig_val} "
                         "(object and relocation disagree)")
        old = insn.imm
        insn.imm = _s32(new)
        res.patch = f"imm {old} -> {insn.imm}"
    elif cls in (op.BPF_LDX, op.BPF_ST, op.BPF_STX):
        if res.validate and insn.off & MASK64 != res.orig_val & MASK64:
            raise _error(res, f"instruction has off {insn.off}, expected {res.orig_val} "
                         "(object and relocation disagree)")
        if new > S16_MAX:
            raise _error(res, f"offset {new} does not fit an instruction's 16-bit offset")
        if res.fail_memsz_adjust:
            res.patch = _poison(insns, res, (
                f"field is {res.new_sz} bytes in the target but {res.orig_sz} locally and is "
                "neither a pointer nor an unsigned integer, so the load cannot be resized"))
            return
        old = insn.off
        insn.off = new
        res.patch = f"off {old} -> {new}"
        if res.new_sz != res.orig_sz:
            have = _SIZE_BYTES[insn.code & 0x18]
            if have != res.orig_sz:
                raise _error(res, f"instruction accesses {have} bytes, expected {res.orig_sz}")
            size = _BYTES_SIZE.get(res.new_sz)
            if size is None:
                raise _error(res, f"target field size {res.new_sz} is not a load/store size")
            insn.code = (insn.code & 0xE0) | size | cls
            res.patch += f", size {res.orig_sz} -> {res.new_sz} bytes"
    elif cls == op.BPF_LD:
        nxt = insns[res.insn + 1] if res.insn + 1 < len(insns) else None
        if (not insn.is_ld_imm64 or insn.src or insn.off or nxt is None or nxt.code
                or nxt.dst or nxt.src or nxt.off):
            raise _error(res, "ld_imm64 instruction has an unexpected form")
        old = ld_imm64_value(insns, res.insn)
        if res.validate and old != res.orig_val & MASK64:
            raise _error(res, f"instruction loads {old}, expected {res.orig_val} "
                         "(object and relocation disagree)")
        set_ld_imm64_value(insns, res.insn, new)
        res.patch = f"imm64 {old} -> {new}"
    else:
        raise _error(res, f"cannot relocate instruction with code 0x{insn.code:02x}")
