"""ObjectSpec: parse a clang-built BPF ELF object (libbpf conventions).

Reads, from the bytes it is handed and nothing else: programs (every
function of every executable section; `.text` functions are subprograms),
their relocations, maps (BTF `.maps`, legacy `maps`, global data sections,
`.kconfig`), externs, license, version, and the object's BTF/BTF.ext.
Every malformed input raises ELFError (or BTFError) naming the file.
"""
from __future__ import annotations

import bisect
import io
import mmap
import os
import struct
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Type, Union

from pybpf import asm
from pybpf.asm import opcodes as op
from pybpf.btf import fixup_datasecs
from pybpf.btf import types as bt
from pybpf.btf.ext import BTFExt, parse_ext
from pybpf.btf.spec import Spec as BTFSpec
from pybpf.elf.externbtf import rewrite_extern_datasecs
from pybpf.elf.funclinkage import is_hidden_global, mark_static
from pybpf.elf.mapdefs import parse_btf_map
from pybpf.elf.sections import find_sec_def
from pybpf.elf.source import MAX_NOBITS_SIZE, mapped_object
from pybpf.elf.specs import (
    RELO_CALL,
    RELO_DATA,
    RELO_EXTERN,
    RELO_FUNC,
    RELO_MAP,
    Extern,
    FunctionSpec,
    MapSpec,
    ProgramSpec,
    Relocation,
)
from pybpf.elf.structops import (
    StructOpsSpec,
    assign_program,
    is_struct_ops_section,
    read_struct_ops,
    struct_ops_map,
)
from pybpf.elf.variables import DataVariable, Variables
from pybpf.errors import BTFError, ELFError
from pybpf.uapi import MapFlags, MapType

if TYPE_CHECKING:  # pyelftools is imported where an object is parsed (see _malformed)
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import Relocation as ELFRelocation
    from elftools.elf.sections import Section, Symbol

EM_BPF = 247
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_32 = 10
SHT_PROGBITS = "SHT_PROGBITS"
SHT_NOBITS = "SHT_NOBITS"
SHF_EXECINSTR = 0x4
MAPS_SEC = ".maps"
LEGACY_MAPS_SEC = "maps"
KCONFIG_SEC = ".kconfig"
KSYMS_SEC = ".ksyms"
OBJ_NAME_LEN = 16

_MALFORMED = (struct.error, ValueError, IndexError, KeyError, UnicodeDecodeError,
              OverflowError, EOFError, TypeError, AttributeError, AssertionError)


def _malformed() -> Tuple[Type[BaseException], ...]:
    """What a malformed object raises while it is parsed: ours and pyelftools' errors.

    pyelftools is imported where an object is parsed, not with this module: a
    start from a prepared object (pybpf.prepared) parses no ELF and never pays for it."""
    from elftools.common.exceptions import ELFError as PyELFError
    from elftools.common.exceptions import ELFParseError, ELFRelocationError
    return (PyELFError, ELFParseError, ELFRelocationError) + _MALFORMED


def is_data_section(name: str) -> bool:
    for base in (".data", ".rodata", ".bss"):
        if name == base or name.startswith(base + "."):
            return True
    return False


def object_name(path: str) -> str:
    """libbpf's object name: the file's base name up to its first dot."""
    return os.path.basename(path).split(".", 1)[0] or "obj"


def internal_map_name(obj_name: str, section: str) -> str:
    """The kernel name libbpf gives a global data map (at most 15 characters).

    `.data.foo`/`.rodata.bar` keep the section name alone; `.data`, `.bss`,
    `.rodata`, `.kconfig` are prefixed by as much of the object name as fits
    in front of a 7+ character suffix. Characters the kernel refuses become _.
    """
    suffix_len = max(7, len(section))
    prefix_len = 0 if "." in section[1:] else min(OBJ_NAME_LEN - suffix_len - 1, len(obj_name))
    name = (obj_name[:prefix_len] + section[:suffix_len])[:OBJ_NAME_LEN - 1]
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name)


class ObjectSpec:
    """Everything a BPF object describes, ready to link and load."""

    def __init__(self, name: str) -> None:
        self.name = name                       # file path (or given name) for messages
        self.obj_name = object_name(name)
        self.programs: Dict[str, ProgramSpec] = {}
        self.functions: Dict[Tuple[str, int], FunctionSpec] = {}  # (section, first slot)
        self.maps: Dict[str, MapSpec] = {}
        self.externs: Dict[str, Extern] = {}
        self.btf: Optional[BTFSpec] = None
        self.btf_ext: Optional[BTFExt] = None
        self.license = ""
        self.kernel_version = 0
        self.section_sizes: Dict[str, int] = {}
        self.symbol_offsets: Dict[str, Dict[str, int]] = {}  # section -> {symbol: offset}
        self.constants = Variables(name, self.maps, {}, None)
        self.struct_ops: Dict[str, StructOpsSpec] = {}  # variable name -> struct_ops map
        self.variables = Variables(name, self.maps, {}, None)

    @classmethod
    def from_file(cls, path: Union[str, "os.PathLike[str]"]) -> "ObjectSpec":
        """Parse the object file at ``path`` (a regular file, bounded; see pybpf.elf.source)."""
        path = os.fspath(path)
        with mapped_object(path) as data:
            return cls.from_bytes(data, path)

    @classmethod
    def from_bytes(cls, data: Union[bytes, mmap.mmap], name: str = "<bytes>") -> "ObjectSpec":
        """Parse an object's bytes (or a read-only mapping of them, which is not copied)."""
        spec = cls(name)
        try:
            _Reader(spec, data if isinstance(data, mmap.mmap) else bytes(data)).read()
        except (ELFError, BTFError):
            raise
        except RecursionError:
            raise ELFError(f"{name}: malformed BPF object: type graph too deep") from None
        except _malformed() as exc:
            raise ELFError(f"{name}: malformed ELF: {exc or type(exc).__name__}") from None
        return spec

    def function_at(self, section: str, slot: int) -> Optional[FunctionSpec]:
        return self.functions.get((section, slot))

    def __repr__(self) -> str:
        return (f"ObjectSpec({self.name!r}, programs={sorted(self.programs)}, "
                f"maps={sorted(self.maps)})")


class _Reader:
    """One pass over the ELF file filling an ObjectSpec."""

    def __init__(self, spec: ObjectSpec, data: Union[bytes, mmap.mmap]) -> None:
        self.spec = spec
        self.where = spec.name
        self.data = data
        self.elf: ELFFile = None  # opened by read()
        self.sections: List[Section] = []
        self.symbols: List[Symbol] = []
        self.code: Dict[int, List[asm.Instruction]] = {}   # section index -> slots
        self.func_starts: Dict[str, List[int]] = {}        # section -> sorted first slots
        self.map_offsets: Dict[Tuple[int, int], str] = {}  # (section index, offset) -> map
        self.values_offsets: Dict[str, int] = {}
        self.hidden_subprogs: List[str] = []              # static in the loaded BTF

    def fail(self, msg: str) -> ELFError:
        return ELFError(f"{self.where}: {msg}")

    # -- top level ---------------------------------------------------------------------------

    def read(self) -> None:
        from elftools.elf.elffile import ELFFile  # see _malformed: parsing only

        if self.data[:4] != b"\x7fELF":
            raise self.fail("not an ELF file")
        self.elf = ELFFile(self.data if isinstance(self.data, mmap.mmap)
                           else io.BytesIO(self.data))
        if self.elf["e_machine"] not in ("EM_BPF", EM_BPF):
            raise self.fail(f"not a BPF object (machine {self.elf['e_machine']})")
        if self.elf.elfclass != 64 or not self.elf.little_endian:
            raise self.fail("only 64-bit little-endian BPF objects are supported")
        if self.elf["e_type"] != "ET_REL":
            raise self.fail(f"not a relocatable object ({self.elf['e_type']})")
        self.sections = list(self.elf.iter_sections())
        self._read_symbols()
        self._read_btf()
        self._read_plain_sections()
        self._read_code()
        self._read_maps()
        self._read_data_sections()
        self._read_externs()
        self._read_struct_ops()
        self._read_relocations()
        self._bind_variables()
        self._fixup_btf()

    def section_bytes(self, sec: Section) -> bytes:
        size = sec["sh_size"]
        if sec["sh_type"] == SHT_NOBITS:
            if size > MAX_NOBITS_SIZE:
                raise self.fail(f"section {sec.name!r} is {size} bytes of zeroes (NOBITS); "
                                f"at most {MAX_NOBITS_SIZE >> 20} MiB is allocated for one")
            return bytes(size)
        off = sec["sh_offset"]
        if off + size > len(self.data):
            raise self.fail(f"section {sec.name!r} runs past the end of the file (truncated?)")
        return self.data[off:off + size]

    def section_image(self, sec: Section) -> Union[bytearray, memoryview]:
        """A writable copy of a data section, the initial image of its map.

        A NOBITS section (``.bss``) gets a view of anonymous memory: its pages
        are zero until a variable is written, so a large ``.bss`` is never
        allocated in full here (the kernel's array map holds the real thing).
        """
        if sec["sh_type"] != SHT_NOBITS:
            return bytearray(self.section_bytes(sec))
        size = sec["sh_size"]
        if size > MAX_NOBITS_SIZE:
            raise self.fail(f"section {sec.name!r} is {size} bytes of zeroes (NOBITS); "
                            f"at most {MAX_NOBITS_SIZE >> 20} MiB is accepted for one")
        return memoryview(mmap.mmap(-1, size))

    def section_name(self, index: int) -> str:
        if not 0 < index < len(self.sections):
            raise self.fail(f"reference to section index {index} outside the file")
        name: str = self.sections[index].name
        return name

    # -- symbols, BTF, license ---------------------------------------------------------------

    def _read_symbols(self) -> None:
        tabs = [s for s in self.sections if s["sh_type"] == "SHT_SYMTAB"]
        if len(tabs) != 1:
            raise self.fail(f"expected one symbol table, found {len(tabs)}")
        self.section_bytes(tabs[0])
        self.symbols = list(tabs[0].iter_symbols())
        for sym in self.symbols:
            shndx = sym["st_shndx"]
            if isinstance(shndx, int) and sym.name and sym["st_info"]["type"] != "STT_SECTION":
                secname = self.section_name(shndx)
                self.spec.symbol_offsets.setdefault(secname, {})[sym.name] = sym["st_value"]

    def _read_btf(self) -> None:
        sec = self.elf.get_section_by_name(".BTF")
        if sec is None:
            return
        try:
            self.spec.btf = BTFSpec.from_bytes(self.section_bytes(sec), name=self.where)
        except BTFError as exc:
            raise BTFError(f"{self.where}: .BTF: {exc}") from None
        ext = self.elf.get_section_by_name(".BTF.ext")
        if ext is not None:
            try:
                self.spec.btf_ext = parse_ext(self.section_bytes(ext), self.spec.btf)
            except BTFError as exc:
                raise BTFError(f"{self.where}: .BTF.ext: {exc}") from None

    def _read_plain_sections(self) -> None:
        for sec in self.sections:
            if sec.name == "license":
                raw = self.section_bytes(sec)
                self.spec.license = raw.split(b"\0", 1)[0].decode("ascii", "replace")
            elif sec.name == "version":
                raw = self.section_bytes(sec)
                if len(raw) != 4:
                    raise self.fail(f"'version' section is {len(raw)} bytes, expected 4")
                self.spec.kernel_version = int.from_bytes(raw, "little")
            if sec["sh_type"] in (SHT_PROGBITS, SHT_NOBITS):
                self.spec.section_sizes[sec.name] = sec["sh_size"]

    # -- code --------------------------------------------------------------------------------

    def _read_code(self) -> None:
        funcs_by_sec: Dict[int, List[Symbol]] = {}
        for sym in self.symbols:
            if sym["st_info"]["type"] == "STT_FUNC" and isinstance(sym["st_shndx"], int):
                funcs_by_sec.setdefault(sym["st_shndx"], []).append(sym)
        for index, sec in enumerate(self.sections):
            if sec["sh_type"] != SHT_PROGBITS or not sec["sh_flags"] & SHF_EXECINSTR:
                continue
            raw = self.section_bytes(sec)
            if not raw:
                continue
            if len(raw) % op.INSN_SIZE:
                raise self.fail(f"section {sec.name!r} size {len(raw)} is not a multiple of 8")
            insns = asm.decode(raw)
            self.code[index] = insns
            syms = sorted(funcs_by_sec.get(index, []), key=lambda s: s["st_value"])
            if not syms:
                raise self.fail(f"section {sec.name!r} has code but no function symbols")
            end = 0
            for sym in syms:
                start, size = sym["st_value"], sym["st_size"]
                if start % 8 or size % 8 or size == 0 or start < end or start + size > len(raw):
                    raise self.fail(f"function {sym.name!r} in {sec.name!r} has a bad extent "
                                    f"(offset {start}, size {size})")
                end = start + size
                self._add_function(sec.name, sym, insns[start // 8:end // 8])
            self.func_starts[sec.name] = [s["st_value"] // 8 for s in syms]

    def _add_function(self, section: str, sym: Symbol, insns: List[asm.Instruction]) -> None:
        name = sym.name
        bind = sym["st_info"]["bind"]
        slot = sym["st_value"] // 8
        if section == ".text":
            fn = FunctionSpec(name, section, slot, insns)
            if is_hidden_global(sym):
                self.hidden_subprogs.append(name)
        else:
            if bind == "STB_LOCAL":
                raise self.fail(f"program {name!r} in {section!r} is static; programs must be "
                                "global functions")
            if name in self.spec.programs:
                raise self.fail(f"two programs named {name!r}")
            autoload = not section.startswith("?")  # SEC("?name"): known, not loaded by default
            sec_name = section if autoload else section[1:]
            sec_def = find_sec_def(sec_name)
            fn = ProgramSpec(name, section, slot, insns, sec_def=sec_def,
                             license=self.spec.license, kernel_version=self.spec.kernel_version,
                             autoload=autoload)
            if sec_def is not None:
                fn.prog_type = int(sec_def.prog_type)
                fn.expected_attach_type = sec_def.expected_attach_type
                fn.attach_to = sec_def.target(sec_name)
                fn.flags = sec_def.prog_flags
            self.spec.programs[name] = fn
        self.spec.functions[(section, slot)] = fn

    # -- maps --------------------------------------------------------------------------------

    def _symbols_in(self, index: int) -> List[Symbol]:
        return [s for s in self.symbols if s["st_shndx"] == index and s.name
                and s["st_info"]["type"] != "STT_SECTION"]

    def _add_map(self, spec: MapSpec, index: int, offset: int) -> None:
        if spec.name in self.spec.maps:
            raise self.fail(f"two maps named {spec.name!r}")
        self.spec.maps[spec.name] = spec
        self.map_offsets[(index, offset)] = spec.name

    def _read_maps(self) -> None:
        for index, sec in enumerate(self.sections):
            if sec.name == MAPS_SEC:
                self._read_btf_maps(index, sec)
            elif sec.name == LEGACY_MAPS_SEC:
                self._read_legacy_maps(index, sec)

    def _read_btf_maps(self, index: int, sec: Section) -> None:
        btf = self.spec.btf
        if btf is None:
            raise self.fail("'.maps' section without BTF (build with clang -g)")
        datasec = self._datasec(MAPS_SEC)
        if datasec is None:
            raise self.fail("BTF has no DATASEC for '.maps'")
        offsets = {s.name: s["st_value"] for s in self._symbols_in(index)}
        sizes = {s.name: s["st_size"] for s in self._symbols_in(index)}
        for vsi in datasec.vars:
            var = btf[vsi.type]
            if not isinstance(var, bt.Var):
                raise self.fail(f"'.maps' DATASEC entry {vsi.type} is not a variable")
            if var.name not in offsets:
                raise self.fail(f"map {var.name!r} has BTF but no symbol in '.maps'")
            off = offsets[var.name]
            if off + sizes[var.name] > sec["sh_size"]:
                raise self.fail(f"map {var.name!r} lies outside the '.maps' section")
            spec, values_off = parse_btf_map(btf, var.name, var.type, self.where)
            if values_off is not None:
                self.values_offsets[var.name] = values_off
            self._add_map(spec, index, off)

    def _read_legacy_maps(self, index: int, sec: Section) -> None:
        # deferred: a rarely used path, and its module imports construct (about 30 ms)
        from pybpf.elf.legacymaps import parse_legacy_map
        raw = self.section_bytes(sec)
        syms = self._symbols_in(index)
        if not syms:
            return
        if len(raw) % len(syms):
            raise self.fail(f"'maps' section size {len(raw)} is not a multiple of its "
                            f"{len(syms)} map definitions")
        def_size = len(raw) // len(syms)
        for sym in syms:
            off = sym["st_value"]
            if off % def_size or off + def_size > len(raw):
                raise self.fail(f"map {sym.name!r} at offset {off} lies outside the 'maps' "
                                "section or is misaligned")
            spec = parse_legacy_map(sym.name, raw[off:off + def_size], self.where)
            self._add_map(spec, index, off)

    def _datasec_id(self, name: str) -> int:
        """The id of the DATASEC called ``name`` in the object's BTF (0 if none)."""
        btf = self.spec.btf
        if btf is None:
            return 0
        for tid in btf.ids_by_name(name):
            if btf.kind_of(tid) == bt.Kind.DATASEC:
                return tid
        return 0

    def _datasec(self, name: str) -> Optional[bt.Datasec]:
        tid = self._datasec_id(name)
        t = self.spec.btf[tid] if tid and self.spec.btf is not None else None
        return t if isinstance(t, bt.Datasec) else None

    def _btf(self, why: str) -> BTFSpec:
        """The object's BTF, which ``why`` needs."""
        if self.spec.btf is None:
            raise self.fail(f"{why} needs BTF (build with clang -g)")
        return self.spec.btf

    def _var_type(self, btf: BTFSpec, tid: int) -> int:
        """The type of variable ``tid``, an entry of a DATASEC."""
        var = btf[tid]
        if not isinstance(var, bt.Var):
            raise self.fail(f"BTF type {tid} listed in a DATASEC is not a variable")
        return var.type

    def _read_data_sections(self) -> None:
        for index, sec in enumerate(self.sections):
            name = sec.name
            if not is_data_section(name) or sec["sh_type"] not in (SHT_PROGBITS, SHT_NOBITS):
                continue
            if sec["sh_size"] == 0 or sec["sh_flags"] & SHF_EXECINSTR:
                continue
            readonly = name.startswith(".rodata")
            flags = MapFlags.MMAPABLE | (MapFlags.RDONLY_PROG if readonly else 0)
            spec = MapSpec(name=name, type=int(MapType.ARRAY), key_size=4,
                           value_size=sec["sh_size"], max_entries=1, flags=int(flags),
                           value_type_id=self._datasec_id(name),
                           data=self.section_image(sec), freeze=readonly,
                           section=name, kernel_name=internal_map_name(self.spec.obj_name, name))
            self._add_map(spec, index, 0)

    # -- externs -----------------------------------------------------------------------------

    def _read_externs(self) -> None:
        undefined = [s for s in self.symbols if s["st_shndx"] == "SHN_UNDEF" and s.name]
        if not undefined:
            return
        if self.spec.btf is None:
            raise self.fail(f"extern {undefined[0].name!r} needs BTF to be resolved "
                            "(build with clang -g)")
        btf = self.spec.btf
        owners: Dict[str, Tuple[str, int]] = {}
        for secname in (KCONFIG_SEC, KSYMS_SEC):
            datasec = self._datasec(secname)
            for vsi in (datasec.vars if datasec else ()):
                owners[btf.name_of(vsi.type)] = (secname, vsi.type)
        kconfig: List[Tuple[Extern, int]] = []  # with their alignment
        for sym in undefined:
            if sym.name not in owners:
                raise self.fail(f"extern {sym.name!r} is neither __kconfig nor __ksym "
                                "(no BTF in .kconfig/.ksyms)")
            secname, tid = owners[sym.name]
            target = btf[tid]
            if not isinstance(target, (bt.Var, bt.Func)):
                raise self.fail(f"extern {sym.name!r}: BTF type {tid} is not a variable or function")
            ext = Extern(sym.name, secname, tid, weak=sym["st_info"]["bind"] == "STB_WEAK",
                         value_type_id=target.type)
            if isinstance(target, bt.Func):
                if secname != KSYMS_SEC:
                    raise self.fail(f"extern function {sym.name!r} must be a __ksym")
                ext.is_func = True
            elif secname == KSYMS_SEC:
                ext.typeless = btf.resolve(target.type) == 0
            else:
                ext.size, align = self._kconfig_layout(sym.name, target.type)
                kconfig.append((ext, align))
            self.spec.externs[sym.name] = ext
        if kconfig:
            self._place_kconfig(kconfig)

    def _kconfig_layout(self, name: str, type_id: int) -> Tuple[int, int]:
        btf = self._btf(f"extern {name!r}")
        t = btf[btf.resolve(type_id)]
        if isinstance(t, (bt.Int, bt.Enum)) and t.size in (1, 2, 4, 8):
            return t.size, t.size
        if isinstance(t, bt.Array):
            elem = btf[btf.resolve(t.type)]
            if isinstance(elem, bt.Int) and elem.size == 1 and t.nelems > 0:
                return t.nelems, 1
        raise self.fail(f"extern {name!r}: .kconfig type is not a bool, tristate, integer or "
                        "char array")

    def _place_kconfig(self, externs: List[Tuple[Extern, int]]) -> None:
        # libbpf's order: alignment descending, then size ascending, then name.
        externs.sort(key=lambda e: (-e[1], e[0].size, e[0].name))
        off = 0
        for ext, align in externs:
            off = (off + align - 1) // align * align
            ext.offset = off
            off += ext.size
        spec = MapSpec(name=KCONFIG_SEC, type=int(MapType.ARRAY), key_size=4, value_size=off,
                       max_entries=1, flags=int(MapFlags.MMAPABLE | MapFlags.RDONLY_PROG),
                       value_type_id=self._datasec_id(KCONFIG_SEC), data=bytearray(off),
                       freeze=True, section=KCONFIG_SEC,
                       kernel_name=internal_map_name(self.spec.obj_name, KCONFIG_SEC))
        self.spec.maps[KCONFIG_SEC] = spec

    # -- relocations -------------------------------------------------------------------------

    def _read_relocations(self) -> None:
        for sec in self.sections:
            if sec["sh_type"] == "SHT_RELA" and sec["sh_info"] in self.code:
                raise self.fail(f"RELA relocations in {sec.name!r} are not supported")
            if sec["sh_type"] != "SHT_REL":
                continue
            target = sec["sh_info"]
            if target in self.code:
                self.section_bytes(sec)
                for rel in sec.iter_relocations():
                    self._code_relocation(target, rel)
            elif 0 < target < len(self.sections) and self.sections[target].name == MAPS_SEC:
                self.section_bytes(sec)
                for rel in sec.iter_relocations():
                    self._maps_relocation(target, rel)
            elif 0 < target < len(self.sections) and is_struct_ops_section(
                    self.sections[target].name):
                self.section_bytes(sec)
                for rel in sec.iter_relocations():
                    self._struct_ops_relocation(self.sections[target].name, rel)

    def _read_struct_ops(self) -> None:
        for sec in self.sections:
            if not is_struct_ops_section(sec.name):
                continue
            for name, ops in read_struct_ops(self.where, self.spec.btf, sec.name,
                                             self.section_bytes(sec)).items():
                self.spec.struct_ops[name] = ops
                self._add_map(struct_ops_map(ops), self.sections.index(sec), ops.offset)

    def _struct_ops_relocation(self, section: str, rel: ELFRelocation) -> None:
        sym = self._symbol(rel)
        if sym["st_info"]["type"] != "STT_FUNC" or sym.name not in self.spec.programs:
            raise self.fail(f"{section}: relocation against {sym.name!r}, which is not a "
                            "program")
        assign_program(self.where, self.spec.btf, self.spec.struct_ops, section,
                       rel["r_offset"], sym.name)

    def _symbol(self, rel: ELFRelocation) -> Symbol:
        index = rel["r_info_sym"]
        if not 0 < index < len(self.symbols):
            raise self.fail(f"relocation at {rel['r_offset']:#x} names symbol {index}, outside "
                            "the symbol table")
        return self.symbols[index]

    def _code_relocation(self, index: int, rel: ELFRelocation) -> None:
        secname = self.sections[index].name
        insns = self.code[index]
        off = rel["r_offset"]
        if off % 8 or off // 8 >= len(insns):
            raise self.fail(f"relocation at {off:#x} lies outside section {secname!r}")
        slot = off // 8
        sym = self._symbol(rel)
        insn = insns[slot]
        where = f"relocation at insn {slot} of {secname!r} against {sym.name or 'section'!r}"
        shndx = sym["st_shndx"]
        if shndx == "SHN_UNDEF":
            if sym.name not in self.spec.externs:
                raise self.fail(f"{where}: unknown extern")
            if not (insn.is_ld_imm64 or insn.is_call):
                raise self.fail(f"{where}: extern used by an instruction that is not ld_imm64/call")
            relo = Relocation(RELO_EXTERN, sym.name, sym.name)
        elif not isinstance(shndx, int):
            raise self.fail(f"{where}: symbol in special section {shndx}")
        elif insn.is_call:
            if insn.src != op.BPF_PSEUDO_CALL or shndx not in self.code:
                raise self.fail(f"{where}: call relocation not against a BPF function")
            relo = Relocation(RELO_CALL, sym.name, self.section_name(shndx), sym["st_value"])
        elif not insn.is_ld_imm64 or slot + 1 >= len(insns):
            raise self.fail(f"{where}: instruction is not ld_imm64 or call")
        elif shndx in self.code:
            if sym["st_value"] % 8 or insn.imm % 8:
                raise self.fail(f"{where}: misaligned function address")
            relo = Relocation(RELO_FUNC, sym.name, self.section_name(shndx), sym["st_value"])
        elif (shndx, sym["st_value"]) in self.map_offsets and self.section_name(shndx) in (
                MAPS_SEC, LEGACY_MAPS_SEC):
            mapname = self.map_offsets[(shndx, sym["st_value"])]
            relo = Relocation(RELO_MAP, sym.name, mapname)
        elif self.section_name(shndx) in self.spec.maps and is_data_section(self.section_name(shndx)):
            relo = Relocation(RELO_DATA, sym.name, self.section_name(shndx), sym["st_value"])
        else:
            raise self.fail(f"{where}: symbol is in section {self.section_name(shndx)!r}, "
                            "which is not a map, data or code section")
        fn = self._function_of(secname, slot)
        fn.relocations[slot - fn.insn_offset] = relo

    def _function_of(self, section: str, slot: int) -> FunctionSpec:
        starts = self.func_starts[section]
        i = bisect.bisect_right(starts, slot) - 1
        fn = self.spec.functions[(section, starts[i])] if i >= 0 else None
        if fn is None or slot >= fn.insn_end:
            raise self.fail(f"relocation at insn {slot} of {section!r} is outside every function")
        return fn

    def _maps_relocation(self, index: int, rel: ELFRelocation) -> None:
        off = rel["r_offset"]
        sym = self._symbol(rel)
        owner = None
        for (sec, start), name in self.map_offsets.items():
            if sec == index and start <= off and (owner is None or start > owner[0]):
                owner = (start, name)
        if owner is None or owner[1] not in self.values_offsets:
            raise self.fail(f"'.maps' relocation at {off:#x} is not inside a map's 'values'")
        start, name = owner
        rel_off = off - start - self.values_offsets[name]
        if rel_off < 0 or rel_off % 8:
            raise self.fail(f"map {name!r}: relocation at {off:#x} is not a 'values' slot")
        mapspec = self.spec.maps[name]
        shndx = sym["st_shndx"]
        if mapspec.type == MapType.PROG_ARRAY:
            if sym.name not in self.spec.programs:
                raise self.fail(f"map {name!r}: slot value {sym.name!r} is not a program")
        elif not (isinstance(shndx, int) and (shndx, sym["st_value"]) in self.map_offsets):
            raise self.fail(f"map {name!r}: slot value {sym.name!r} is not a map")
        slot = rel_off // 8
        if mapspec.max_entries and slot >= mapspec.max_entries:
            raise self.fail(f"map {name!r}: initial slot {slot} >= max_entries "
                            f"{mapspec.max_entries}")
        mapspec.contents[slot] = sym.name

    def _fixup_btf(self) -> None:
        btf = self.spec.btf
        if btf is None:
            return
        try:
            fixup_datasecs(btf, self.spec.section_sizes, self.spec.symbol_offsets)
            kconfig = self.spec.maps.get(KCONFIG_SEC)
            rewrite_extern_datasecs(btf, self.spec.externs, kconfig.value_size if kconfig else 0)
            mark_static(btf, self.hidden_subprogs)
        except BTFError as exc:
            raise BTFError(f"{self.where}: .BTF: {exc}") from None

    # -- variables ---------------------------------------------------------------------------

    def _bind_variables(self) -> None:
        btf = self.spec.btf
        rodata: Dict[str, DataVariable] = {}
        data: Dict[str, DataVariable] = {}
        for index, sec in enumerate(self.sections):
            if sec.name not in self.spec.maps or not is_data_section(sec.name):
                continue
            types: Dict[str, int] = {}
            datasec = self._datasec(sec.name)
            if datasec is not None and btf is not None:
                for vsi in datasec.vars:
                    types[btf.name_of(vsi.type)] = self._var_type(btf, vsi.type)
            for sym in self._symbols_in(index):
                if sym["st_info"]["type"] != "STT_OBJECT" or sym.name not in types:
                    continue
                off, size = sym["st_value"], sym["st_size"]
                if off + size > sec["sh_size"]:
                    raise self.fail(f"variable {sym.name!r} lies outside {sec.name!r}")
                var = DataVariable(sym.name, sec.name, off, size, types[sym.name])
                (rodata if sec.name.startswith(".rodata") else data)[sym.name] = var
        self.spec.constants = Variables(self.where, self.spec.maps, rodata, btf)
        self.spec.variables = Variables(self.where, self.spec.maps, data, btf)
