"""The data an ELF object describes: functions, programs, maps, externs.

These are plain records (pybpf.records) produced by pybpf.elf.reader and consumed by
the linker and the collection loader. Nothing here touches the kernel.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

from pybpf.elf.sections import SecDef
from pybpf.records import Record

if TYPE_CHECKING:  # annotations only: a warm start loads prepared bytes, not Instructions
    from pybpf.asm import Instruction

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

class Relocation(Record):
    """What the instruction at one slot refers to.

    ``target`` is the map name (map), the data section (data), the code
    section (call/func) or the extern name (extern). ``offset`` is the
    symbol's byte offset within that section (data/call/func), before the
    instruction's own immediate is added.
    """

    __slots__ = ("kind", "symbol", "target", "offset")

    kind: str
    symbol: str
    target: str
    offset: int

    def __init__(self, kind: str, symbol: str, target: str, offset: int = 0) -> None:
        self.kind = kind
        self.symbol = symbol
        self.target = target
        self.offset = offset


class FunctionSpec(Record):
    """One function of an executable section (a program or a subprogram)."""

    __slots__ = ("name", "section", "insn_offset", "instructions", "relocations")

    name: str
    section: str
    insn_offset: int  # index of its first slot within the section
    instructions: List[Instruction]
    relocations: Dict[int, Relocation]  # by slot in this function

    def __init__(
            self,
            name: str,
            section: str,
            insn_offset: int,
            instructions: List[Instruction],
            relocations: Optional[Dict[int, Relocation]] = None,
    ) -> None:
        self.name = name
        self.section = section
        self.insn_offset = insn_offset
        self.instructions = instructions
        self.relocations = dict() if relocations is None else relocations

    @property
    def insn_end(self) -> int:
        return self.insn_offset + len(self.instructions)


class ProgramSpec(FunctionSpec):
    """A function the kernel loads as a program (a function outside .text)."""

    __slots__ = ("sec_def", "prog_type", "expected_attach_type", "attach_to", "license",
                 "kernel_version", "flags", "autoload")

    sec_def: Optional[SecDef]
    prog_type: int
    expected_attach_type: int
    attach_to: str
    license: str
    kernel_version: int
    flags: int
    autoload: bool  # False for SEC("?name"): parsed, not loaded unless asked

    def __init__(
            self,
            name: str,
            section: str,
            insn_offset: int,
            instructions: List[Instruction],
            relocations: Optional[Dict[int, Relocation]] = None,
            sec_def: Optional[SecDef] = None,
            prog_type: int = 0,
            expected_attach_type: int = 0,
            attach_to: str = "",
            license: str = "",
            kernel_version: int = 0,
            flags: int = 0,
            autoload: bool = True,
    ) -> None:
        super().__init__(name, section, insn_offset, instructions, relocations)
        self.sec_def = sec_def
        self.prog_type = prog_type
        self.expected_attach_type = expected_attach_type
        self.attach_to = attach_to
        self.license = license
        self.kernel_version = kernel_version
        self.flags = flags
        self.autoload = autoload


class MapSpec(Record):
    """A map to create: from `.maps`, the legacy `maps` section or a data section.

    ``contents`` holds initial elements: for program arrays and map-in-map
    outer maps, slot index -> program or map name; otherwise key -> value
    bytes. ``data`` is the initial image of a global-data map (one element;
    a view of anonymous memory for a NOBITS section, zero until written).
    ``kernel_name`` is the name given to the kernel (libbpf's naming of
    internal maps; at most 15 characters).
    """

    __slots__ = ("name", "type", "key_size", "value_size", "max_entries", "flags", "numa_node",
                 "pinning", "map_extra", "key_type_id", "value_type_id", "inner", "contents",
                 "data", "freeze", "section", "kernel_name")

    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    numa_node: int
    pinning: int
    map_extra: int
    key_type_id: int
    value_type_id: int
    inner: Optional["MapSpec"]
    contents: Dict[Any, Any]
    data: Optional[Union[bytearray, memoryview]]
    freeze: bool
    section: str
    kernel_name: str

    def __init__(
            self,
            name: str,
            type: int,
            key_size: int = 0,
            value_size: int = 0,
            max_entries: int = 0,
            flags: int = 0,
            numa_node: int = 0,
            pinning: int = PIN_NONE,
            map_extra: int = 0,
            key_type_id: int = 0,
            value_type_id: int = 0,
            inner: Optional["MapSpec"] = None,
            contents: Optional[Dict[Any, Any]] = None,
            data: Optional[Union[bytearray, memoryview]] = None,
            freeze: bool = False,
            section: str = ".maps",
            kernel_name: str = "",
    ) -> None:
        self.name = name
        self.type = type
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        self.numa_node = numa_node
        self.pinning = pinning
        self.map_extra = map_extra
        self.key_type_id = key_type_id
        self.value_type_id = value_type_id
        self.inner = inner
        self.contents = dict() if contents is None else contents
        self.data = data
        self.freeze = freeze
        self.section = section
        self.kernel_name = kernel_name
        self.__post_init__()

    def __post_init__(self) -> None:
        if not self.kernel_name:
            self.kernel_name = self.name[:15]

    @property
    def is_global_data(self) -> bool:
        return self.data is not None


class Extern(Record):
    """An `extern` the loader resolves: a `.kconfig` value or a `.ksyms` symbol.

    ``type_id`` is the VAR (or FUNC, for kfuncs) in the object's BTF and
    ``value_type_id`` the type it declares (the VAR's type as compiled, kept
    because the BTF rewrite for the kernel turns `.ksyms` VARs into ints; the
    FUNC_PROTO for a kfunc).
    ``offset``/``size`` place a `.kconfig` value in the `.kconfig` map.
    ``typeless`` ksyms (``extern const void x __ksym``) resolve through
    /proc/kallsyms; typed ones and kfuncs through the kernel's BTF.
    """

    __slots__ = ("name", "section", "type_id", "weak", "is_func", "typeless", "offset", "size",
                 "value_type_id")

    name: str
    section: str  # ".kconfig" or ".ksyms"
    type_id: int
    weak: bool
    is_func: bool
    typeless: bool
    offset: int
    size: int
    value_type_id: int

    def __init__(
            self,
            name: str,
            section: str,
            type_id: int,
            weak: bool = False,
            is_func: bool = False,
            typeless: bool = False,
            offset: int = 0,
            size: int = 0,
            value_type_id: int = 0,
    ) -> None:
        self.name = name
        self.section = section
        self.type_id = type_id
        self.weak = weak
        self.is_func = is_func
        self.typeless = typeless
        self.offset = offset
        self.size = size
        self.value_type_id = value_type_id
