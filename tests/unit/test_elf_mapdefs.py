"""BTF map definitions decoded from synthesised BTF (the struct encodings libbpf's macros make)."""
from __future__ import annotations

import pytest

from pybpf.btf import Array, Builder, Enum, EnumValue, FuncProto, Int, Member, Ptr, Struct, Typedef
from pybpf.elf.legacymaps import parse_legacy_map
from pybpf.elf.mapdefs import parse_btf_map
from pybpf.errors import ELFError
from pybpf.uapi import MapType


class Def:
    """Build `struct { __uint(...); __type(...); ... }` in BTF."""

    def __init__(self) -> None:
        self.b = Builder()
        self.int = self.b.add(Int("int", 4, signed=True))
        self.u64 = self.b.add(Int("unsigned long long", 8))
        self.members = []

    def uint(self, name: str, value: int) -> "Def":
        arr = self.b.add(Array(self.int, self.int, value))
        self.members.append((name, self.b.add(Ptr(arr))))
        return self

    def ulong(self, name: str, value: int) -> "Def":
        self.members.append((name, self.b.add(Enum("", 8, False, [EnumValue("v", value)]))))
        return self

    def type(self, name: str, type_id: int) -> "Def":
        self.members.append((name, self.b.add(Ptr(type_id))))
        return self

    def values(self, target: int) -> "Def":
        ptr = self.b.add(Ptr(target))
        self.members.append(("values", self.b.add(Array(ptr, self.int, 0))))
        return self

    def struct(self) -> int:
        members = [Member(n, t, 64 * i) for i, (n, t) in enumerate(self.members)]
        return self.b.add(Struct("", 8 * len(members), members))

    def parse(self, name: str = "m"):
        sid = self.struct()
        return parse_btf_map(self.b.to_spec(), name, sid, "t.o")


def test_typed_key_value():
    d = Def().uint("type", MapType.HASH).uint("max_entries", 10)
    d.type("key", d.int).type("value", d.u64).uint("map_flags", 1).uint("pinning", 1)
    spec, values_off = d.parse()
    assert (spec.type, spec.key_size, spec.value_size, spec.max_entries, spec.flags,
            spec.pinning) == (MapType.HASH, 4, 8, 10, 1, 1)
    assert (spec.key_type_id, spec.value_type_id) == (d.int, d.u64)
    assert values_off is None


def test_typedef_of_struct_and_ulong_extra():
    d = Def().uint("type", MapType.BLOOM_FILTER).uint("value_size", 4).ulong("map_extra", 5)
    sid = d.struct()
    tid = d.b.add(Typedef("bloom_def", sid))
    spec, _ = parse_btf_map(d.b.to_spec(), "bloom", tid, "t.o")
    assert spec.map_extra == 5 and spec.value_size == 4


def test_map_in_map_inner():
    inner = Def()
    inner_id = inner.uint("type", MapType.ARRAY).uint("max_entries", 1).type(
        "key", inner.int).type("value", inner.int).struct()
    outer = inner  # same builder
    outer.members = []
    outer.uint("type", MapType.HASH_OF_MAPS).uint("max_entries", 4).type("key", inner.int)
    outer.values(inner_id)
    spec, values_off = outer.parse("outer")
    assert spec.value_size == 4 and spec.inner.type == MapType.ARRAY
    assert spec.inner.name == "outer.inner" and values_off == 24


def test_prog_array_values():
    d = Def()
    proto = d.b.add(FuncProto(d.int, []))
    d.uint("type", MapType.PROG_ARRAY).uint("max_entries", 2).uint("key_size", 4).values(proto)
    spec, values_off = d.parse()
    assert spec.value_size == 4 and spec.inner is None and values_off == 24


@pytest.mark.parametrize("build,match", [
    (lambda d: d.uint("type", 2).uint("colour", 3), "unknown field 'colour'"),
    (lambda d: d.uint("max_entries", 3), "missing 'type'"),
    (lambda d: d.uint("type", 2).uint("key_size", 8).type("key", d.int), "disagrees"),
    (lambda d: d.uint("type", 999), "invalid map type 999"),
    (lambda d: d.uint("type", 2).uint("value_size", 1 << 31), "absurd"),
    (lambda d: d.uint("type", 2).uint("pinning", 7), "unsupported pinning 7"),
    (lambda d: d.uint("type", MapType.ARRAY_OF_MAPS), "inner map definition"),
    (lambda d: d.uint("type", 2).values(d.b.add(FuncProto(d.int, []))), "PROG_ARRAY"),
    (lambda d: d.type("type", d.int), "not an __uint"),
])
def test_refused(build, match):
    d = Def()
    build(d)
    with pytest.raises(ELFError, match=match) as info:
        d.parse()
    assert str(info.value).startswith("t.o: map 'm'")


def test_not_a_struct():
    d = Def()
    with pytest.raises(ELFError, match="not a struct"):
        parse_btf_map(d.b.to_spec(), "m", d.int, "t.o")


def test_legacy():
    raw = (1).to_bytes(4, "little") + (4).to_bytes(4, "little") + (8).to_bytes(4, "little") + \
        (16).to_bytes(4, "little") + (1).to_bytes(4, "little")
    spec = parse_legacy_map("h", raw, "t.o")
    assert (spec.type, spec.key_size, spec.value_size, spec.max_entries, spec.flags) == (
        1, 4, 8, 16, 1)
    assert parse_legacy_map("short", raw[:16], "t.o").flags == 0  # older, shorter defs
    with pytest.raises(ELFError, match="non-zero fields"):
        parse_legacy_map("long", raw + b"\1\0\0\0", "t.o")
