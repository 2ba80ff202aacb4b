"""pybpf.asm: slot codec, properties and xlated-style text."""
from __future__ import annotations

from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from pybpf import asm
from pybpf.asm import Instruction
from pybpf.errors import ParseError

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"


def code_sections():
    for path in sorted(OBJECTS.glob("*.bpf.o")):
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            for sec in elf.iter_sections():
                if sec["sh_flags"] & 0x4 and sec["sh_size"]:
                    yield f"{path.name}:{sec.name}", sec.data()


@pytest.mark.parametrize("name,raw", list(code_sections()))
def test_decode_encode_round_trip(name, raw):
    insns = asm.decode(raw)
    assert len(insns) == len(raw) // 8
    assert asm.encode(insns) == raw
    assert asm.format(insns)  # every opcode clang emits has a text form


def test_fields_and_signs():
    raw = bytes([0x07, 0x2A, 0xFE, 0xFF, 0xFC, 0xFF, 0xFF, 0xFF])  # r10 += -4, src 2, off -2
    (insn,) = asm.decode(raw)
    assert (insn.code, insn.dst, insn.src, insn.off, insn.imm) == (0x07, 10, 2, -2, -4)
    assert insn.encode() == raw
    insn.imm = 0xFFFFFFFF  # stored as written, encoded as the same 32 bits
    assert insn.encode()[4:] == b"\xff\xff\xff\xff"


def test_bad_length():
    with pytest.raises(ParseError):
        asm.decode(b"\0" * 12)


def test_ld_imm64_value():
    insns = [Instruction(asm.LD_IMM64, 1), Instruction(0)]
    asm.set_ld_imm64_value(insns, 0, 0xFFFFFFFF81524660)
    assert asm.ld_imm64_value(insns, 0) == 0xFFFFFFFF81524660
    assert insns[0].imm == 0x81524660 - (1 << 32) and insns[1].imm == -1


def test_properties():
    call = Instruction(asm.CALL, imm=1)
    pcall = Instruction(asm.CALL, src=asm.BPF_PSEUDO_CALL, imm=3)
    kcall = Instruction(asm.CALL, src=asm.BPF_PSEUDO_KFUNC_CALL, imm=99)
    func = Instruction(asm.LD_IMM64, 2, asm.BPF_PSEUDO_FUNC, imm=4)
    jeq = Instruction(asm.BPF_JMP | asm.BPF_JEQ | asm.BPF_K, 1, off=3)
    exit_ = Instruction(asm.EXIT)
    assert call.is_call and call.is_helper_call and not call.is_pseudo_call
    assert pcall.is_pseudo_call and not pcall.is_helper_call
    assert kcall.is_kfunc_call and not kcall.is_pseudo_call
    assert func.is_pseudo_func and func.is_ld_imm64
    assert jeq.is_jump and not call.is_jump and not exit_.is_jump
    assert exit_.is_exit


@pytest.mark.parametrize("insn,text", [
    (Instruction(0xB7, 1, 0, 0, 0), "r1 = 0"),
    (Instruction(0xBC, 2, 3), "w2 = w3"),
    (Instruction(0xBF, 2, 3, 8), "r2 = (s8)r3"),
    (Instruction(0x07, 2, 0, 0, -4), "r2 += -4"),
    (Instruction(0x77, 0, 0, 0, 32), "r0 >>= 32"),
    (Instruction(0xC7, 0, 0, 0, 3), "r0 s>>= 3"),
    (Instruction(0x87, 4), "r4 = -r4"),
    (Instruction(0xDC, 1, 0, 0, 16), "r1 = be16 r1"),
    (Instruction(0xD7, 1, 0, 0, 32), "r1 = bswap32 r1"),
    (Instruction(0x3F, 1, 2, 1), "r1 s/= r2"),
    (Instruction(0x63, 10, 1, -4), "*(u32 *)(r10 -4) = r1"),
    (Instruction(0x7A, 10, 0, -8, 7), "*(u64 *)(r10 -8) = 7"),
    (Instruction(0x61, 1, 6, 0), "r1 = *(u32 *)(r6 +0)"),
    (Instruction(0x91, 1, 6, 2), "r1 = *(s8 *)(r6 +2)"),
    (Instruction(0xDB, 0, 1, 0, 0x00), "lock *(u64 *)(r0 +0) += r1"),
    (Instruction(0xDB, 0, 1, 0, 0x01), "r1 = atomic64_fetch_add((u64 *)(r0 +0), r1)"),
    (Instruction(0xC3, 0, 1, 0, 0xE1), "r1 = atomic32_xchg((u32 *)(r0 +0), r1)"),
    (Instruction(0xDB, 0, 1, 0, 0xF1), "r0 = atomic64_cmpxchg((u64 *)(r0 +0), r0, r1)"),
    (Instruction(0x15, 1, 0, 4, 0), "if r1 == 0x0 goto pc+4"),
    (Instruction(0x5D, 0, 1, -8), "if r0 != r1 goto pc-8"),
    (Instruction(0x16, 1, 0, 2, 5), "if w1 == 0x5 goto pc+2"),
    (Instruction(0x05, 0, 0, 3), "goto pc+3"),
    (Instruction(0x06, 0, 0, 0, 70000), "gotol pc+70000"),
    (Instruction(0x85, 0, 0, 0, 14), "call #14"),
    (Instruction(0x85, 0, 1, 0, 5), "call pc+5"),
    (Instruction(0x95), "exit"),
    (Instruction(0x30, 0, 0, 0, 12), "r0 = *(u8 *)skb[12]"),
    (Instruction(0x50, 0, 2, 0, 1), "r0 = *(u8 *)skb[r2 + 1]"),
])
def test_format_one(insn, text):
    assert asm.format_insn([insn], 0) == text


def test_format_ld_imm64_kinds():
    def ld(src, lo, hi=0):
        return [Instruction(asm.LD_IMM64, 1, src, 0, lo), Instruction(0, 0, 0, 0, hi)]
    assert asm.format_insn(ld(0, 5, 1), 0) == "r1 = 0x100000005 ll"
    assert asm.format_insn(ld(asm.BPF_PSEUDO_MAP_FD, 7), 0) == "r1 = map[fd:7]"
    assert asm.format_insn(ld(asm.BPF_PSEUDO_MAP_VALUE, 7, 16), 0) == "r1 = map[fd:7][0]+16"
    text = asm.format(ld(0, 1) + [Instruction(asm.EXIT)])
    assert text.splitlines() == ["   0: (18) r1 = 0x1 ll", "   2: (95) exit"]
