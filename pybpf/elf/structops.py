"""struct_ops variables of an object: `.struct_ops` and `.struct_ops.link` sections.

Each global variable in those sections (``SEC(".struct_ops.link") struct
tcp_congestion_ops my_ca = {...}``) becomes a struct_ops map, named after the
variable, as libbpf makes them. Its image holds the non-pointer members
(``.name``, flags) and its relocations say which program each function
pointer member points at. ``.struct_ops.link`` maps are attached through a
BPF link (BPF_F_LINK); `.struct_ops` ones by updating the map. Pure: reads
the sections and relocations the ELF reader hands over.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

from pybpf.btf import types as bt
from pybpf.btf.spec import Spec
from pybpf.elf.specs import MapSpec
from pybpf.errors import ELFError
from pybpf.uapi import MapFlags, MapType

SECTION = ".struct_ops"
LINK_SECTION = ".struct_ops.link"


def is_struct_ops_section(name: str) -> bool:
    return name in (SECTION, LINK_SECTION)


@dataclass
class StructOpsSpec:
    """One struct_ops variable: ``type_name`` is the struct (the kernel's name for it),
    ``data`` its image, ``programs`` member name -> program name, ``link`` whether it
    attaches through a BPF link."""

    name: str
    section: str
    offset: int           # of the variable in its section
    type_id: int          # the struct in the object's BTF
    type_name: str
    data: bytearray
    programs: Dict[str, str] = field(default_factory=dict)

    @property
    def link(self) -> bool:
        return self.section == LINK_SECTION


def struct_ops_map(ops: StructOpsSpec) -> MapSpec:
    """The map as the object knows it; its value size (the kernel's wrapper struct) is
    filled in at load time from the kernel's BTF."""
    return MapSpec(name=ops.name, type=int(MapType.STRUCT_OPS), key_size=4, value_size=0,
                   max_entries=1, flags=int(MapFlags.LINK) if ops.link else 0,
                   section=ops.section)


def read_struct_ops(where: str, btf: Optional[Spec], section: str, data: bytes) -> Dict[str, StructOpsSpec]:
    """The variables of one struct_ops section, from its BTF DATASEC."""
    if btf is None:
        raise ELFError(f"{where}: {section} needs the object's BTF")
    out: Dict[str, StructOpsSpec] = {}
    for tid in btf.ids_by_name(section):
        if btf.kind_of(tid) != bt.Kind.DATASEC:
            continue
        for vsi in btf.get_as(tid, bt.Datasec).vars:
            var = btf.get_as(vsi.type, bt.Var)
            struct_id = btf.resolve(var.type)
            struct = btf[struct_id]
            if not isinstance(struct, bt.Struct) or not struct.name:
                raise ELFError(f"{where}: struct_ops variable {var.name!r} in {section} is not "
                               "a named struct")
            if vsi.offset + vsi.size > len(data) or vsi.size != struct.size:
                raise ELFError(f"{where}: struct_ops variable {var.name!r} lies outside "
                               f"{section}")
            out[var.name] = StructOpsSpec(var.name, section, vsi.offset, struct_id, struct.name,
                                          bytearray(data[vsi.offset:vsi.offset + vsi.size]))
    return out


def assign_program(where: str, btf: Optional[Spec], specs: Dict[str, StructOpsSpec], section: str,
                   rel_offset: int, program: str) -> None:
    """Record that the function pointer at byte ``rel_offset`` of ``section`` points at
    ``program``."""
    for spec in specs.values():
        if spec.section != section or not spec.offset <= rel_offset < spec.offset + len(spec.data):
            continue
        if btf is None:
            raise ELFError(f"{where}: {section} needs the object's BTF")
        for m in btf.get_as(spec.type_id, bt.Struct).members:
            if m.bit_offset == 8 * (rel_offset - spec.offset) and not m.bitfield_size:
                spec.programs[m.name] = program
                return
        raise ELFError(f"{where}: struct_ops {spec.name!r}: relocation at byte "
                       f"{rel_offset - spec.offset} is not at a member")
    raise ELFError(f"{where}: {section} relocation at byte {rel_offset} is in no variable")
