"""Lay out a struct_ops map for the kernel (libbpf's bpf_map__init_kern_vdata).

The kernel describes each struct_ops type twice in its BTF: the struct itself
(``tcp_congestion_ops``) and a wrapper (``bpf_struct_ops_tcp_congestion_ops``)
whose ``data`` member holds it; a struct_ops map's value is the wrapper.
Members are matched by name between the object's struct and the kernel's:
function pointers become the fds of the programs assigned to them (each such
program loads with the kernel struct as attach_btf_id and the member's index
as expected_attach_type), other members are copied (same size required), and
a member the kernel lacks must be zero in the object. Pure: BTF and bytes in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

from pybpf.btf import types as bt
from pybpf.btf.spec import Spec
from pybpf.elf.structops import StructOpsSpec
from pybpf.errors import LoadError

WRAPPER_PREFIX = "bpf_struct_ops_"


@dataclass(frozen=True)
class KernelStructOps:
    """Where one struct_ops type lives in the kernel's BTF."""

    struct_id: int
    wrapper_id: int
    value_size: int       # of the wrapper: the map's value_size
    data_offset: int      # of the struct inside the wrapper


def _named(btf: Spec, name: str, kind: bt.Kind) -> int:
    for tid in btf.ids_by_name(name):
        if btf.kind_of(tid) == kind:
            return tid
    return 0


def kernel_struct_ops(where: str, vmlinux: Spec, type_name: str) -> KernelStructOps:
    struct_id = _named(vmlinux, type_name, bt.Kind.STRUCT)
    wrapper_id = _named(vmlinux, WRAPPER_PREFIX + type_name, bt.Kind.STRUCT)
    if not struct_id or not wrapper_id:
        raise LoadError(f"{where}: struct {type_name!r} is not a struct_ops type of this kernel "
                        f"(no {WRAPPER_PREFIX}{type_name} in its BTF)")
    wrapper = vmlinux.get_as(wrapper_id, bt.Struct)
    try:
        data = wrapper.member("data")
    except KeyError:
        raise LoadError(f"{where}: {WRAPPER_PREFIX}{type_name} has no 'data' member") from None
    return KernelStructOps(struct_id, wrapper_id, wrapper.size, data.bit_offset // 8)


def _is_func_ptr(btf: Spec, type_id: int) -> bool:
    t = btf[btf.resolve(type_id)]
    return isinstance(t, bt.Ptr) and isinstance(btf[btf.resolve(t.type)], bt.FuncProto)


def program_targets(where: str, spec: StructOpsSpec, vmlinux: Spec,
                    kern: KernelStructOps) -> Dict[str, Tuple[int, int]]:
    """Program name -> (attach_btf_id, expected_attach_type) for the programs of ``spec``."""
    members = vmlinux.get_as(kern.struct_id, bt.Struct).members
    index = {m.name: i for i, m in enumerate(members)}
    out = {}
    for member, prog in spec.programs.items():
        if member not in index or not _is_func_ptr(vmlinux, members[index[member]].type):
            raise LoadError(f"{where}: struct_ops {spec.name!r}: member {member!r} is not a "
                            f"function pointer of the kernel's struct {spec.type_name}")
        out[prog] = (kern.struct_id, index[member])
    return out


def kernel_value(where: str, spec: StructOpsSpec, local_btf: Optional[Spec], vmlinux: Spec,
                 kern: KernelStructOps, prog_fds: Mapping[str, int]) -> bytes:
    """The map value (the wrapper) for ``spec`` with its programs' fds filled in."""
    if local_btf is None:
        raise LoadError(f"{where}: struct_ops needs the object's BTF")
    value = bytearray(kern.value_size)
    kernel_members = {m.name: m for m in vmlinux.get_as(kern.struct_id, bt.Struct).members}
    for m in local_btf.get_as(spec.type_id, bt.Struct).members:
        where_m = f"{where}: struct_ops {spec.name!r}: member {m.name!r}"
        if m.bitfield_size:
            raise LoadError(f"{where_m}: bitfields are not supported")
        size = local_btf.size_of(m.type)
        local = bytes(spec.data[m.bit_offset // 8:m.bit_offset // 8 + size])
        km = kernel_members.get(m.name)
        if km is None:
            if m.name in spec.programs or any(local):
                raise LoadError(f"{where_m}: the kernel's struct {spec.type_name} has no such "
                                "member")
            continue
        at = kern.data_offset + km.bit_offset // 8
        if _is_func_ptr(local_btf, m.type):
            if m.name in spec.programs:
                value[at:at + 8] = int(prog_fds[spec.programs[m.name]]).to_bytes(8, "little")
            continue
        if km.bitfield_size or vmlinux.size_of(km.type) != size:
            raise LoadError(f"{where_m}: {size} bytes here, "
                            f"{vmlinux.size_of(km.type)} in the kernel")
        value[at:at + size] = local
    return bytes(value)
