"""The data an ELF object describes: functions, programs, maps, externs.

These are plain dataclasses produced by pybpf.elf.reader and consumed by
the linker and the collection loader. Nothing here touches the kernel.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from pybpf.asm import Instruction
from pybpf.elf.sections import SecDef

# Relocation kinds (what an instruction refers to).
RELO_MAP = "map"          # ld_imm64 of a map (BPF_PSEUDO_MAP_FD)
RELO_DATA = "data"        # ld_imm64 of a global variable (BPF_PSEUDO_MAP_VALUE)
RELO_CALL = "call"        # bpf-to-bpf call (BPF_PSEUDO_CALL)
RELO_FUNC = "func"        # ld_imm64 of a function address (BPF_PSEUDO_FUNC, callbacks)
RELO_EXTERN = "extern"    # .kconfig / .ksyms extern (variable or kfunc)

PIN_NONE = 0
PIN_BY_NAME = 1


# The map of USDT argument specs that libbpf's usdt.bpf.h reads (see pybpf.links.usdt).
USDT_SPECS_MAP = "__bpf_usdt_specs"

@dataclass
class Relocation:
    """What the instruction at one slot refers to.

    ``target`` is the map name (map), the data section (data), the code
    section (call/func) or the extern name (extern). ``offset`` is the
    symbol's byte offset within that section (data/call/func), before the
    instruction's own immediate is added.
    """

    kind: str
    symbol: str
    target: str
    offset: int = 0


@dataclass
class FunctionSpec:
    """One function of an executable section (a program or a subprogram)."""

    name: str
    section: str
    insn_offset: int                  # index of its first slot within the section
    instructions: List[Instruction]
    relocations: Dict[int, Relocation] = field(default_factory=dict)  # by slot in this function

    @property
    def insn_end(self) -> int:
        return self.insn_offset + len(self.instructions)


@dataclass
class ProgramSpec(FunctionSpec):
    """A function the kernel loads as a program (a function outside .text)."""

    sec_def: Optional[SecDef] = None
    prog_type: int = 0
    expected_attach_type: int = 0
    attach_to: str = ""
    license: str = ""
    kernel_version: int = 0
    flags: int = 0
    autoload: bool = True   # False for SEC("?name"): parsed, not loaded unless asked


@dataclass
class MapSpec:
    """A map to create: from `.maps`, the legacy `maps` section or a data section.

    ``contents`` holds initial elements: for program arrays and map-in-map
    outer maps, slot index -> program or map name; otherwise key -> value
    bytes. ``data`` is the initial image of a global-data map (one element;
    a view of anonymous memory for a NOBITS section, zero until written).
    ``kernel_name`` is the name given to the kernel (libbpf's naming of
    internal maps; at most 15 characters).
    """

    name: str
    type: int
    key_size: int = 0
    value_size: int = 0
    max_entries: int = 0
    flags: int = 0
    numa_node: int = 0
    pinning: int = PIN_NONE
    map_extra: int = 0
    key_type_id: int = 0
    value_type_id: int = 0
    inner: Optional["MapSpec"] = None
    contents: Dict[Any, Any] = field(default_factory=dict)
    data: Optional[Union[bytearray, memoryview]] = None
    freeze: bool = False
    section: str = ".maps"
    kernel_name: str = ""

    def __post_init__(self) -> None:
        if not self.kernel_name:
            self.kernel_name = self.name[:15]

    @property
    def is_global_data(self) -> bool:
        return self.data is not None


@dataclass
class Extern:
    """An `extern` the loader resolves: a `.kconfig` value or a `.ksyms` symbol.

    ``type_id`` is the VAR (or FUNC, for kfuncs) in the object's BTF and
    ``value_type_id`` the type it declares (the VAR's type as compiled, kept
    because the BTF rewrite for the kernel turns `.ksyms` VARs into ints; the
    FUNC_PROTO for a kfunc).
    ``offset``/``size`` place a `.kconfig` value in the `.kconfig` map.
    ``typeless`` ksyms (``extern const void x __ksym``) resolve through
    /proc/kallsyms; typed ones and kfuncs through the kernel's BTF.
    """

    name: str
    section: str        # ".kconfig" or ".ksyms"
    type_id: int
    weak: bool = False
    is_func: bool = False
    typeless: bool = False
    offset: int = 0
    size: int = 0
    value_type_id: int = 0
