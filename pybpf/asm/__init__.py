"""BPF instructions: decode, encode, format, and the opcode constants."""
from __future__ import annotations

from pybpf.asm.format import format, format_insn  # noqa: A004
from pybpf.asm.instruction import Instruction, decode, encode, ld_imm64_value, set_ld_imm64_value
from pybpf.asm.opcodes import *  # noqa: F401,F403

__all__ = ["Instruction", "decode", "encode", "format", "format_insn", "ld_imm64_value",
           "set_ld_imm64_value"]
