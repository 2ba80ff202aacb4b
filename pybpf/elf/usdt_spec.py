"""USDT argument specs in the encoding of libbpf's ``usdt.bpf.h``.

A probe's argument string (from its `.note.stapsdt` note) says where each
argument lives at the probe site: a constant, a register, or memory at a
register plus an offset, and its size (negative: signed). ``parse_args``
reads it for x86-64 or arm64; ``encode_spec`` packs the result as the
``struct __bpf_usdt_spec`` value that ``bpf_usdt_arg()`` reads from the
``__bpf_usdt_specs`` map (register = offset in ``struct pt_regs``; sizes
below 8 bytes become the shift that clears or sign-extends the upper bits).
Pure: strings in, bytes out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List

from construct import Array, Construct, Enum, Flag, Int8sl, Int16sl, Int32ul, Int64ul, Padding, Struct

from pybpf.errors import BPFError

MAX_ARGS = 12  # BPF_USDT_MAX_ARG_CNT

ARG_CONST, ARG_REG, ARG_REG_DEREF = 0, 1, 2

ARG_SPEC: Construct = Struct(
    "val_off" / Int64ul,
    "arg_type" / Enum(Int32ul, const=ARG_CONST, reg=ARG_REG, reg_deref=ARG_REG_DEREF),
    "reg_off" / Int16sl,
    "arg_signed" / Flag,
    "arg_bitshift" / Int8sl,
)
SPEC: Construct = Struct(
    "args" / Array(MAX_ARGS, ARG_SPEC),
    "usdt_cookie" / Int64ul,
    "arg_cnt" / Int16sl,
    Padding(6),
)


class USDTArgError(BPFError):
    """A USDT argument string pybpf cannot turn into a spec."""


@dataclass(frozen=True)
class ArgSpec:
    """Where one argument is: ``kind`` ARG_CONST (value ``val_off``), ARG_REG (register at
    ``reg_off`` in pt_regs) or ARG_REG_DEREF (memory at that register + ``val_off``)."""

    kind: int
    val_off: int
    reg_off: int
    signed: bool
    size: int

    @property
    def bitshift(self) -> int:
        return 64 - 8 * self.size


def _x86_64_regs() -> Dict[str, int]:
    """Every spelling of an x86-64 general register -> its offset in struct pt_regs."""
    layout = ["r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx",
              "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"]
    regs: Dict[str, int] = {}
    for index, name in enumerate(layout):
        off = 8 * index
        if name.startswith("r") and name[1:].isdigit():
            for suffix in ("", "d", "w", "b"):
                regs[name + suffix] = off
        elif name in ("ax", "bx", "cx", "dx"):
            regs.update({"r" + name: off, "e" + name: off, name: off, name[0] + "l": off})
        elif name in ("si", "di", "bp", "sp"):
            regs.update({"r" + name: off, "e" + name: off, name: off, name + "l": off})
        elif name == "ip":
            regs["rip"] = off
    return regs


def _arm64_regs() -> Dict[str, int]:
    """x0..x30 and sp -> offset in struct pt_regs (its user_pt_regs: regs[31], sp, pc)."""
    regs = {f"x{i}": 8 * i for i in range(31)}
    regs["sp"] = 8 * 31
    return regs


REGISTERS = {"EM_X86_64": _x86_64_regs(), "EM_AARCH64": _arm64_regs()}

_NUM = r"(-?(?:0x[0-9a-fA-F]+|\d+))"
_TOKEN = re.compile(r"(?:\[[^\]]*\]|\S)+")  # arguments split on blanks outside [...]
_PATTERNS = {
    "EM_X86_64": [
        (re.compile(rf"^{_NUM}\(%(\w+)\)$"), ARG_REG_DEREF),  # 8@-16(%rbp)
        (re.compile(r"^\(%(\w+)\)$"), ARG_REG_DEREF),          # 8@(%rax)
        (re.compile(r"^%(\w+)$"), ARG_REG),                     # 4@%eax
        (re.compile(rf"^\${_NUM}$"), ARG_CONST),                # -4@$-9
    ],
    "EM_AARCH64": [
        (re.compile(rf"^\[(\w+),\s*{_NUM}\]$"), ARG_REG_DEREF),  # 8@[x1, 16]
        (re.compile(r"^\[(\w+)\]$"), ARG_REG_DEREF),              # 8@[sp]
        (re.compile(rf"^{_NUM}$"), ARG_CONST),                    # 4@5
        (re.compile(r"^(\w+)$"), ARG_REG),                        # 8@x0
    ],
}


def _parse_one(machine: str, text: str) -> ArgSpec:
    size_text, at, location = text.partition("@")
    try:
        size = int(size_text)
    except ValueError:
        size = 0
    if not at or abs(size) not in (1, 2, 4, 8):
        raise USDTArgError(f"USDT argument {text!r}: no size (1, 2, 4 or 8 bytes) before '@'")
    regs = REGISTERS[machine]
    for pattern, kind in _PATTERNS[machine]:
        found = pattern.match(location)
        if found is None:
            continue
        groups = found.groups()
        if kind == ARG_CONST:
            return ArgSpec(kind, int(groups[0], 0), 0, size < 0, abs(size))
        if machine == "EM_X86_64" and kind == ARG_REG_DEREF and len(groups) == 2:
            offset, reg = int(groups[0], 0), groups[1]
        else:
            reg, offset = groups[0], int(groups[1], 0) if len(groups) > 1 else 0
        if reg not in regs:
            raise USDTArgError(f"USDT argument {text!r}: unknown register {reg!r}")
        return ArgSpec(kind, offset, regs[reg], size < 0, abs(size))
    raise USDTArgError(f"USDT argument {text!r}: unsupported location {location!r}")


def parse_args(machine: str, args: str) -> List[ArgSpec]:
    """The argument specs of one probe (``machine``: the ELF e_machine of the binary)."""
    if machine not in REGISTERS:
        raise USDTArgError(f"USDT arguments of {machine} binaries are not supported "
                           "(x86-64 and arm64 are)")
    specs = [_parse_one(machine, a) for a in _TOKEN.findall(args)]
    if len(specs) > MAX_ARGS:
        raise USDTArgError(f"USDT probe has {len(specs)} arguments; usdt.bpf.h takes at most "
                           f"{MAX_ARGS}")
    return specs


def encode_spec(args: List[ArgSpec], cookie: int = 0) -> bytes:
    """The ``struct __bpf_usdt_spec`` value for these arguments and user cookie."""
    packed = [dict(val_off=a.val_off & 0xFFFFFFFFFFFFFFFF, arg_type=a.kind, reg_off=a.reg_off,
                   arg_signed=a.signed, arg_bitshift=a.bitshift) for a in args]
    packed += [dict(val_off=0, arg_type=0, reg_off=0, arg_signed=False, arg_bitshift=0)] * (
        MAX_ARGS - len(args))
    return bytes(SPEC.build(dict(args=packed, usdt_cookie=cookie & 0xFFFFFFFFFFFFFFFF,
                                 arg_cnt=len(args))))
