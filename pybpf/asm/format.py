"""Text form of instruction streams, in the style of `bpftool prog dump xlated`.

Helpers are printed by number and references by their raw immediates (no
symbol table is consulted).
"""
from __future__ import annotations

from typing import List, Sequence

from pybpf.asm import opcodes as op
from pybpf.asm.instruction import Instruction, ld_imm64_value

_ALU_OPS = {
    op.BPF_ADD: "+=", op.BPF_SUB: "-=", op.BPF_MUL: "*=", op.BPF_DIV: "/=",
    op.BPF_OR: "|=", op.BPF_AND: "&=", op.BPF_LSH: "<<=", op.BPF_RSH: ">>=",
    op.BPF_MOD: "%=", op.BPF_XOR: "^=", op.BPF_MOV: "=", op.BPF_ARSH: "s>>=",
}
_JMP_OPS = {
    op.BPF_JEQ: "==", op.BPF_JGT: ">", op.BPF_JGE: ">=", op.BPF_JSET: "&",
    op.BPF_JNE: "!=", op.BPF_JSGT: "s>", op.BPF_JSGE: "s>=", op.BPF_JLT: "<",
    op.BPF_JLE: "<=", op.BPF_JSLT: "s<", op.BPF_JSLE: "s<=",
}
_SIZES = {op.BPF_B: "8", op.BPF_H: "16", op.BPF_W: "32", op.BPF_DW: "64"}
_ATOMIC_OPS = {op.BPF_ADD: "+=", op.BPF_AND: "&=", op.BPF_OR: "|=", op.BPF_XOR: "^="}
_ATOMIC_NAMES = {op.BPF_ADD: "add", op.BPF_AND: "and", op.BPF_OR: "or", op.BPF_XOR: "xor"}
_PSEUDO_LD = {
    op.BPF_PSEUDO_MAP_FD: "map[fd:{imm}]",
    op.BPF_PSEUDO_MAP_VALUE: "map[fd:{imm}][0]+{next}",
    op.BPF_PSEUDO_MAP_IDX: "map[idx:{imm}]",
    op.BPF_PSEUDO_MAP_IDX_VALUE: "map[idx:{imm}][0]+{next}",
    op.BPF_PSEUDO_BTF_ID: "btf_id[{imm}]",
    op.BPF_PSEUDO_FUNC: "func pc{imm:+d}",
}


def _mem(insn: Instruction, reg: int, signed: bool = False) -> str:
    kind = "s" if signed else "u"
    return f"*({kind}{_SIZES[op.size_of(insn.code)]} *)(r{reg} {insn.off:+d})"


def _alu(insn: Instruction) -> str:
    wide = insn.cls == op.BPF_ALU64
    r = "r" if wide else "w"
    code = op.op_of(insn.code)
    dst = f"{r}{insn.dst}"
    if code == op.BPF_END:  # the kernel names the full register for byte swaps
        reg = f"r{insn.dst}"
        if wide:
            return f"{reg} = bswap{insn.imm} {reg}"
        order = "be" if op.source_of(insn.code) == op.BPF_TO_BE else "le"
        return f"{reg} = {order}{insn.imm} {reg}"
    if code == op.BPF_NEG:
        return f"{dst} = -{dst}"
    if op.source_of(insn.code) == op.BPF_X:
        rhs = f"{r}{insn.src}"
        if code == op.BPF_MOV and insn.off:
            rhs = f"(s{insn.off}){rhs}"
    else:
        rhs = str(insn.imm)
    sym = _ALU_OPS.get(code, f"alu{code:#x}")
    if code in (op.BPF_DIV, op.BPF_MOD) and insn.off == 1:
        sym = "s" + sym
    return f"{dst} {sym} {rhs}"


def _jmp(insn: Instruction) -> str:
    code = op.op_of(insn.code)
    if code == op.BPF_EXIT:
        return "exit"
    if code == op.BPF_CALL:
        if insn.src == op.BPF_PSEUDO_CALL:
            return f"call pc{insn.imm:+d}"
        if insn.src == op.BPF_PSEUDO_KFUNC_CALL:
            return f"call kernel-function#{insn.imm}"
        return f"call #{insn.imm}"
    if code == op.BPF_JA:
        if insn.cls == op.BPF_JMP32:
            return f"gotol pc{insn.imm:+d}"
        return f"goto pc{insn.off:+d}"
    r = "r" if insn.cls == op.BPF_JMP else "w"
    rhs = f"{r}{insn.src}" if op.source_of(insn.code) == op.BPF_X else f"{insn.imm:#x}"
    return f"if {r}{insn.dst} {_JMP_OPS.get(code, '?')} {rhs} goto pc{insn.off:+d}"


def _atomic(insn: Instruction) -> str:
    size = _SIZES[op.size_of(insn.code)]
    where = f"(u{size} *)(r{insn.dst} {insn.off:+d})"
    if insn.imm == op.BPF_CMPXCHG:
        return f"r0 = atomic{size}_cmpxchg({where}, r0, r{insn.src})"
    if insn.imm == op.BPF_XCHG:
        return f"r{insn.src} = atomic{size}_xchg({where}, r{insn.src})"
    base = insn.imm & ~op.BPF_FETCH
    if insn.imm & op.BPF_FETCH:
        name = _ATOMIC_NAMES.get(base, f"op{base:#x}")
        return f"r{insn.src} = atomic{size}_fetch_{name}({where}, r{insn.src})"
    return f"lock *{where} {_ATOMIC_OPS.get(base, '?=')} r{insn.src}"


def format_insn(insns: Sequence[Instruction], index: int) -> str:
    """Text of the instruction at ``index`` (an ld_imm64 reads both slots)."""
    insn = insns[index]
    cls = insn.cls
    if insn.is_ld_imm64:
        nxt = insns[index + 1].imm if index + 1 < len(insns) else 0
        template = _PSEUDO_LD.get(insn.src)
        if template is None:
            value = ld_imm64_value(list(insns), index) if index + 1 < len(insns) else insn.imm
            return f"r{insn.dst} = {value:#x} ll"
        return f"r{insn.dst} = " + template.format(imm=insn.imm, next=nxt)
    if cls in (op.BPF_ALU, op.BPF_ALU64):
        return _alu(insn)
    if cls in (op.BPF_JMP, op.BPF_JMP32):
        return _jmp(insn)
    mode = op.mode_of(insn.code)
    if cls == op.BPF_LDX:
        return f"r{insn.dst} = {_mem(insn, insn.src, mode == op.BPF_MEMSX)}"
    if cls == op.BPF_STX:
        if mode == op.BPF_ATOMIC:
            return _atomic(insn)
        return f"{_mem(insn, insn.dst)} = r{insn.src}"
    if cls == op.BPF_ST:
        return f"{_mem(insn, insn.dst)} = {insn.imm}"
    if cls == op.BPF_LD:
        size = _SIZES[op.size_of(insn.code)]
        if mode == op.BPF_ABS:
            return f"r0 = *(u{size} *)skb[{insn.imm}]"
        if mode == op.BPF_IND:
            return f"r0 = *(u{size} *)skb[r{insn.src} + {insn.imm}]"
    return f"invalid opcode {insn.code:#04x}"


def format(insns: Sequence[Instruction]) -> str:  # noqa: A001 - mirrors the interface name
    """One line per instruction: ``index: (opcode) text``; ld_imm64 takes two indexes."""
    lines: List[str] = []
    index = 0
    while index < len(insns):
        insn = insns[index]
        lines.append(f"{index:4d}: ({insn.code:02x}) {format_insn(insns, index)}")
        index += 2 if insn.is_ld_imm64 else 1
    return "\n".join(lines)
