"""Map definitions: BTF-defined `.maps` structs (legacy ones: pybpf.elf.legacymaps).

A BTF map definition is a struct whose members encode each attribute:
``__uint(name, v)`` is ``int (*name)[v]`` (the value is the array length),
``__type(key, T)`` is ``T *key`` (size and type id from T),
``__array(values, struct inner)`` is ``struct inner *values[]`` (inner map
template for map-in-map, or program slots for a program array) and
``__ulong(name, v)`` is an enum member whose single value is v.
"""
from __future__ import annotations

from typing import Optional, Tuple

from pybpf.btf import types as bt
from pybpf.btf.spec import Spec
from pybpf.elf.specs import PIN_BY_NAME, PIN_NONE, MapSpec
from pybpf.errors import ELFError
from pybpf.uapi import MapType

_INT_FIELDS = ("type", "max_entries", "map_flags", "numa_node", "key_size", "value_size",
               "pinning", "map_extra")
_MAP_IN_MAP = (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)
# Sizes beyond these are not a map anyone meant to write (the kernel caps far lower).
MAX_KEY_SIZE = 1 << 16
MAX_VALUE_SIZE = 1 << 30
MAX_MAP_TYPE = 255


def _field_int(btf: Spec, member: bt.Member, where: str) -> int:
    tid = btf.resolve(member.type)
    t = btf[tid]
    if isinstance(t, bt.Ptr):
        arr = btf[btf.resolve(t.type)]
        if isinstance(arr, bt.Array):
            return arr.nelems
    elif isinstance(t, bt.Enum) and len(t.values) == 1:
        return t.values[0].value
    raise ELFError(f"{where}: field '{member.name}' is not an __uint/__ulong attribute")


def _field_type(btf: Spec, member: bt.Member, where: str) -> Tuple[int, int]:
    t = btf[btf.resolve(member.type)]
    if not isinstance(t, bt.Ptr):
        raise ELFError(f"{where}: field '{member.name}' is not a __type(...) pointer")
    try:
        size = btf.size_of(t.type)
    except Exception as exc:  # BTFError for void/func/unsized
        raise ELFError(f"{where}: {member.name} type has no size ({exc})") from None
    return t.type, size


def parse_btf_map(btf: Spec, name: str, type_id: int, where: str, *,
                  inner: bool = False) -> Tuple[MapSpec, Optional[int]]:
    """Decode the definition struct ``type_id`` of map ``name``.

    Returns the MapSpec and the byte offset of its ``values`` member (None
    without one): `.rel.maps` entries past that offset fill initial slots.
    """
    where = f"{where}: map '{name}'"
    struct_t = btf[btf.resolve(type_id)]
    if not isinstance(struct_t, bt.Struct) or isinstance(struct_t, bt.Union):
        raise ELFError(f"{where}: definition is not a struct")
    ints = {}
    key_type = value_type = None
    values_off = None
    inner_spec = None
    has_prog_values = False
    for member in struct_t.members:
        if member.name in _INT_FIELDS:
            ints[member.name] = _field_int(btf, member, where)
        elif member.name == "key":
            key_type = _field_type(btf, member, where)
        elif member.name == "value":
            value_type = _field_type(btf, member, where)
        elif member.name == "values":
            if inner:
                raise ELFError(f"{where}: an inner map definition cannot have 'values'")
            arr = btf[btf.resolve(member.type)]
            if not isinstance(arr, bt.Array) or arr.nelems != 0:
                raise ELFError(f"{where}: 'values' must be a flexible array of pointers")
            ptr = btf[btf.resolve(arr.type)]
            if not isinstance(ptr, bt.Ptr):
                raise ELFError(f"{where}: 'values' must be an array of pointers")
            target = btf[btf.resolve(ptr.type)]
            if isinstance(target, bt.FuncProto):
                has_prog_values = True
            else:
                inner_spec, _ = parse_btf_map(btf, name + ".inner", ptr.type, where, inner=True)
            values_off = member.bit_offset // 8
        else:
            raise ELFError(f"{where}: unknown field '{member.name}'")
    if "type" not in ints:
        raise ELFError(f"{where}: missing 'type'")
    map_type = ints["type"]
    spec = MapSpec(name=name, type=map_type, max_entries=ints.get("max_entries", 0),
                   flags=ints.get("map_flags", 0), numa_node=ints.get("numa_node", 0),
                   pinning=ints.get("pinning", PIN_NONE), map_extra=ints.get("map_extra", 0),
                   section=".maps")
    spec.key_size = _merge_size(where, "key", ints.get("key_size"), key_type)
    spec.value_size = _merge_size(where, "value", ints.get("value_size"), value_type)
    if key_type:
        spec.key_type_id = key_type[0]
    if value_type:
        spec.value_type_id = value_type[0]
    if values_off is not None:
        if has_prog_values and map_type != MapType.PROG_ARRAY:
            raise ELFError(f"{where}: program 'values' need a BPF_MAP_TYPE_PROG_ARRAY")
        if inner_spec is not None and map_type not in _MAP_IN_MAP:
            raise ELFError(f"{where}: map 'values' need an ARRAY_OF_MAPS or HASH_OF_MAPS")
        if spec.value_size not in (0, 4):
            raise ELFError(f"{where}: value size {spec.value_size} must be 4 with 'values'")
        spec.value_size = 4
        spec.inner = inner_spec
    elif map_type in _MAP_IN_MAP:
        raise ELFError(f"{where}: map-in-map needs an inner map definition in 'values'")
    check_map_def(spec, where)
    return spec, values_off


def _merge_size(where: str, what: str, explicit: Optional[int], typed: Optional[Tuple[int, int]]) -> int:
    if typed is None:
        return explicit or 0
    if explicit is not None and explicit != typed[1]:
        raise ELFError(f"{where}: {what}_size {explicit} disagrees with {what} type size {typed[1]}")
    return typed[1]


def check_map_def(spec: MapSpec, where: str) -> None:
    """Refuse definitions nobody could have meant (fuzzed or corrupt input)."""
    if spec.type == 0 or spec.type > MAX_MAP_TYPE:
        raise ELFError(f"{where}: invalid map type {spec.type}")
    if spec.key_size > MAX_KEY_SIZE:
        raise ELFError(f"{where}: key size {spec.key_size} is absurd")
    if spec.value_size > MAX_VALUE_SIZE:
        raise ELFError(f"{where}: value size {spec.value_size} is absurd")
    if spec.pinning not in (PIN_NONE, PIN_BY_NAME):
        raise ELFError(f"{where}: unsupported pinning {spec.pinning}")
