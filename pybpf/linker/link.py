"""Link one program: append the subprograms it reaches and record what needs fds.

Starting from the program's own function, every bpf-to-bpf call
(BPF_PSEUDO_CALL) and every function address taken for a callback
(ld_imm64 BPF_PSEUDO_FUNC) pulls its target function in once, appended
after what is already laid out, and the instruction's immediate becomes
the pc-relative distance. The order is libbpf's (bpf_object__reloc_code):
depth first, a newly appended function is relocated (and appends its own
callees) before the caller's later instructions are looked at, so the
instruction stream, and with it the kernel's program tag, is the one
libbpf loads. Map and global-data references become
BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE ld_imm64s whose fd is filled in at
load time (``LinkedProgram.map_refs``); externs are listed for
pybpf.linker.externs. func_info, line_info and CO-RE relocation records
follow each function into the final stream.

The kernel counts a subprogram at every BPF_PSEUDO_CALL target and (from
Linux 5.13) every BPF_PSEUDO_FUNC target, and refuses func_info whose count
differs. Every function laid out here is such a target, so func_info holds
exactly one record per function start, in order, the first at 0 (or none at
all when the object has no record for the program itself, as libbpf).
Functions only reached as callbacks are listed in
``LinkedProgram.callbacks``: a kernel older than 5.13 does not count them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple, TypeVar, Union

from pybpf.asm import Instruction
from pybpf.asm import opcodes as op
from pybpf.btf.ext import CoreRelo, FuncInfo, LineInfo
from pybpf.elf.specs import (
    RELO_CALL,
    RELO_DATA,
    RELO_EXTERN,
    RELO_FUNC,
    RELO_MAP,
    FunctionSpec,
    ProgramSpec,
    Relocation,
)
from pybpf.errors import LoadError

if TYPE_CHECKING:
    from pybpf.elf.reader import ObjectSpec

R = TypeVar("R", bound=Union[FuncInfo, LineInfo, CoreRelo])  # a .BTF.ext record

MAX_INSNS = 1_000_000  # the kernel's BPF_COMPLEXITY_LIMIT_INSNS


@dataclass
class MapRef:
    """The ld_imm64 at ``slot`` refers to map ``map`` (its fd goes into imm)."""

    slot: int
    map: str


@dataclass
class ExternRef:
    """The ld_imm64 or call at ``slot`` refers to extern ``name``."""

    slot: int
    name: str


@dataclass
class LinkedProgram:
    """A program's final instruction stream, before fds and externs are filled in.

    ``func_info``/``line_info`` hold the object's records with ``insn_off``
    rebased to byte offsets in ``instructions``; ``core_relos`` have
    ``insn_off`` as a slot index into ``instructions`` (what
    ``pybpf.core.relocate`` takes).
    """

    program: ProgramSpec
    instructions: List[Instruction]
    functions: List[Tuple[int, FunctionSpec]] = field(default_factory=list)  # (start, fn)
    map_refs: List[MapRef] = field(default_factory=list)
    extern_refs: List[ExternRef] = field(default_factory=list)
    func_info: List[FuncInfo] = field(default_factory=list)
    line_info: List[LineInfo] = field(default_factory=list)
    core_relos: List[CoreRelo] = field(default_factory=list)  # insn_off: a slot index
    callbacks: List[Tuple[int, str]] = field(default_factory=list)  # (ld_imm64 slot, function)

    @property
    def name(self) -> str:
        return self.program.name

    def with_map_fds(self, fds: Dict[str, int]) -> List[Instruction]:
        """A copy of the instructions with every map reference's fd filled in."""
        insns = [insn.copy() for insn in self.instructions]
        for ref in self.map_refs:
            try:
                insns[ref.slot].imm = int(fds[ref.map])
            except KeyError:
                raise LoadError(f"program {self.name!r}: map {ref.map!r} was not created") from None
        return insns


class _Layout:
    """Functions placed so far, in order, with their start slots; placing a
    function copies its instructions to the end of the program's stream."""

    def __init__(self, linked: LinkedProgram) -> None:
        self.linked = linked
        self.start: Dict[Tuple[str, int], int] = {}

    def place(self, fn: FunctionSpec) -> Tuple[int, bool]:
        """The start slot of ``fn`` and whether this call appended it."""
        key = (fn.section, fn.insn_offset)
        if key in self.start:
            return self.start[key], False
        out = self.linked.instructions
        start = self.start[key] = len(out)
        self.linked.functions.append((start, fn))
        out.extend(insn.copy() for insn in fn.instructions)
        if len(out) > MAX_INSNS:
            raise LoadError(f"program {self.linked.name!r}: more than {MAX_INSNS} instructions "
                            "after linking")
        return start, True


def link_program(obj: ObjectSpec, name: str) -> LinkedProgram:
    """Link program ``name`` of ObjectSpec ``obj`` (pure: no kernel access)."""
    try:
        prog = obj.programs[name]
    except KeyError:
        raise LoadError(f"{obj.name}: no program named {name!r}") from None
    linked = LinkedProgram(prog, [])
    layout = _Layout(linked)
    # One frame per function being relocated; a callee appended by slot i is
    # relocated whole before slot i + 1 of its caller (libbpf's recursion).
    stack: List[Tuple[FunctionSpec, int, Iterator[int]]] = [
        (prog, layout.place(prog)[0], iter(range(len(prog.instructions))))]
    while stack:
        fn, base, slots = stack[-1]
        for i in slots:
            appended = _relocate_slot(obj, linked, layout, fn, i, base)
            if appended is not None:
                callee, start = appended
                stack.append((callee, start, iter(range(len(callee.instructions)))))
                break
        else:
            stack.pop()
    _attach_ext_info(obj, linked)
    return linked


def _callee(obj: ObjectSpec, name: str, fn: FunctionSpec, i: int, section: str, slot: int) -> FunctionSpec:
    target = obj.function_at(section, slot)
    if target is None:
        raise LoadError(f"program {name!r}: instruction {i} of function {fn.name!r} refers to "
                        f"instruction {slot} of {section!r}, which does not start a function")
    return target


def _relocate_slot(obj: ObjectSpec, linked: LinkedProgram, layout: _Layout, fn: FunctionSpec, i: int,
                   base: int) -> Optional[Tuple[FunctionSpec, int]]:
    """Relocate slot ``i`` of ``fn``; returns (callee, start) when this appended a callee."""
    insns = linked.instructions
    slot = base + i
    insn = insns[slot]
    relo = fn.relocations.get(i)
    name = linked.name
    if relo is None:
        if not insn.is_pseudo_call:
            return None
        # a call the assembler resolved within the same section
        target = _callee(obj, name, fn, i, fn.section, fn.insn_offset + i + insn.imm + 1)
    elif relo.kind == RELO_CALL:
        target = _callee(obj, name, fn, i, relo.target, relo.offset // 8 + insn.imm + 1)
    elif relo.kind == RELO_FUNC:
        target = _callee(obj, name, fn, i, relo.target, (relo.offset + insn.imm) // 8)
        insn.src = op.BPF_PSEUDO_FUNC
        insns[slot + 1].imm = 0
        linked.callbacks.append((slot, target.name))
    else:
        _relocate_data(obj, linked, relo, fn, i, slot)
        return None
    start, appended = layout.place(target)
    insn.imm = start - slot - 1
    return (target, start) if appended else None


def _relocate_data(obj: ObjectSpec, linked: LinkedProgram, relo: Relocation, fn: FunctionSpec,
                   i: int, slot: int) -> None:
    insns = linked.instructions
    insn = insns[slot]
    if relo.kind == RELO_MAP:
        insn.src = op.BPF_PSEUDO_MAP_FD
        insn.imm = 0
        insns[slot + 1].imm = 0
        linked.map_refs.append(MapRef(slot, relo.target))
    elif relo.kind == RELO_DATA:
        offset = insn.imm + relo.offset
        size = obj.maps[relo.target].value_size
        if not 0 <= offset < size:
            raise LoadError(f"program {linked.name!r}: reference to offset {offset} of "
                            f"{relo.target!r} (size {size}) at instruction {i} of {fn.name!r}")
        insn.src = op.BPF_PSEUDO_MAP_VALUE
        insn.imm = 0
        insns[slot + 1].imm = offset
        linked.map_refs.append(MapRef(slot, relo.target))
    elif relo.kind == RELO_EXTERN:
        linked.extern_refs.append(ExternRef(slot, relo.target))


def _records_of(fn: FunctionSpec, records: Optional[List[R]]) -> List[R]:
    if not records:
        return []
    lo, hi = fn.insn_offset * 8, fn.insn_end * 8
    return [r for r in records if lo <= r.insn_off < hi]


def _attach_ext_info(obj: ObjectSpec, linked: LinkedProgram) -> None:
    ext = obj.btf_ext
    if ext is None:
        return
    func_info: List[List[FuncInfo]] = []
    for start, fn in linked.functions:
        delta = start * 8 - fn.insn_offset * 8
        func_info.append([dataclasses.replace(rec, insn_off=rec.insn_off + delta)
                          for rec in _records_of(fn, ext.func_info.get(fn.section))])
        for line in _records_of(fn, ext.line_info.get(fn.section)):
            linked.line_info.append(dataclasses.replace(line, insn_off=line.insn_off + delta))
        for relo in _records_of(fn, ext.core_relos.get(fn.section)):
            linked.core_relos.append(
                dataclasses.replace(relo, insn_off=(relo.insn_off + delta) // 8))
    linked.func_info = _one_record_per_function(linked, func_info)


def _one_record_per_function(linked: LinkedProgram,
                             per_fn: List[List[FuncInfo]]) -> List[FuncInfo]:
    """func_info as the kernel checks it: one record at each function's start.

    No record for the program's own function means the object carries no
    func_info for it: load without (libbpf does the same). A subprogram
    without a record, or a record not at a function's start, would make the
    kernel refuse the program with a count mismatch: say which function.
    """
    if not per_fn[0]:
        return []
    out = []
    for (start, fn), records in zip(linked.functions, per_fn):
        if len(records) != 1 or records[0].insn_off != start * 8:
            found = ", ".join(str(r.insn_off // 8 - start) for r in records) or "none"
            raise LoadError(f"program {linked.name!r}: function {fn.name!r} of section "
                            f"{fn.section!r} needs one .BTF.ext func_info record at its first "
                            f"instruction (found at instructions: {found})")
        out.append(records[0])
    return out
