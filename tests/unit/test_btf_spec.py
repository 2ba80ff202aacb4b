"""Spec parsing, lookups, validation and Builder round trips (pure, no kernel)."""
from __future__ import annotations

import struct

import pytest

from pybpf.btf import (
    FUNC_GLOBAL,
    INT_CHAR,
    VAR_GLOBAL_ALLOCATED,
    Array,
    Builder,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Member,
    Param,
    Ptr,
    Restrict,
    Spec,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)
from pybpf.errors import BTFError


def every_kind() -> Builder:
    """One type of each kind, plus a self-referencing struct."""
    b = Builder()
    i32 = b.add(Int("int", 4, signed=True))
    ch = b.add(Int("char", 1, INT_CHAR))
    node = b.add(Struct("node", 16, []))
    pnode = b.add(Ptr(node))
    b[node].members += [Member("next", pnode, 0), Member("val", i32, 64),
                        Member("flag", i32, 96, 3)]
    arr = b.add(Array(ch, i32, 16))
    b.add(Union("u", 4, [Member("a", i32, 0), Member("", ch, 0)]))
    b.add(Enum("color", 4, True, [EnumValue("RED", -1), EnumValue("BLUE", 7)]))
    b.add(Enum64("big", 8, False, [EnumValue("HUGE", 1 << 63)]))
    b.add(Fwd("later", union=True))
    td = b.add(Typedef("node_t", node))
    b.add(Volatile(i32))
    b.add(Const(td))
    b.add(Restrict(pnode))
    proto = b.add(FuncProto(i32, [Param("ctx", pnode), Param("", 0)]))
    b.add(Func("handler", proto, FUNC_GLOBAL))
    var = b.add(Var("counter", i32, VAR_GLOBAL_ALLOCATED))
    b.add(Datasec(".data", 4, [VarSecinfo(var, 0, 4)]))
    b.add(Float("double", 8))
    b.add(DeclTag("kernel", node, 1))
    b.add(TypeTag("user", pnode))
    b.add(Struct("with_arr", 16, [Member("name", arr, 0)]))
    return b


def test_every_kind_round_trips():
    b = every_kind()
    spec = b.to_spec()
    assert spec.type_count == len(b.types) + 1
    assert isinstance(spec[0], Void)
    for n, t in enumerate(b.types, start=1):
        assert spec[n] == t, n
        assert spec.kind_of(n) == t.kind
        assert spec.name_of(n) == t.name
    assert spec[7].values[0].value == -1
    assert spec[8].values[0].value == 1 << 63
    assert spec[3].members[2].bitfield_size == 3
    again = Spec.from_bytes(spec.to_bytes())
    assert [again[i] for i in again.iter_ids()] == b.types
    assert spec.to_bytes() == b.to_bytes()


def test_int_keywords_and_defaults():
    t = Int("unsigned char", 1, char=True)
    assert t.bits == 8 and t.is_char and not t.signed
    assert Int("int", 4, signed=True).signed


def test_lookups_and_sizes():
    spec = every_kind().to_spec()
    assert spec.ids_by_name("node") == [3]
    assert spec.ids_by_name("node_t") == [10]
    assert spec.ids_by_name("nope") == []
    assert spec.ids_by_name("") == []
    assert spec.resolve(12) == 3          # const -> typedef -> struct
    assert spec.size_of(12) == 16
    assert spec.size_of(5) == 16          # char[16]
    assert spec.size_of(4) == 8           # pointer
    assert spec.size_of(16) == 4          # var -> int
    assert spec.string(0) == ""
    with pytest.raises(BTFError, match="has no size"):
        spec.size_of(9)                   # fwd
    with pytest.raises(BTFError, match="out of range"):
        spec[500]
    with pytest.raises(BTFError, match="string offset"):
        spec.string(10_000)


def test_name_lookup_finds_suffix_and_duplicate_names():
    b = Builder()
    b.add(Struct("xnode", 0, []))
    b.add(Struct("node", 0, []))
    b.add(Typedef("node", 2))
    spec = b.to_spec()
    assert spec.ids_by_name("node") == [2, 3]
    assert spec.ids_by_name("xnode") == [1]


def test_reference_loop_is_reported():
    b = Builder()
    b.add(Typedef("a", 2))
    b.add(Const(1))
    spec = b.to_spec()
    with pytest.raises(BTFError, match="loop"):
        spec.resolve(1)
    with pytest.raises(BTFError, match="loop"):
        spec.size_of(2)


def test_set_type_add_and_to_bytes():
    spec = every_kind().to_spec()
    spec.set_type(17, Datasec(".data", 8, [VarSecinfo(16, 4, 4)]))
    new = spec.add(Int("brand_new", 2))
    assert spec.ids_by_name("brand_new") == [new]
    out = Spec.from_bytes(spec.to_bytes())
    assert out[17] == Datasec(".data", 8, [VarSecinfo(16, 4, 4)])
    assert out[new] == Int("brand_new", 2)
    assert out[3] == spec[3]
    assert out.ids_by_name("brand_new") == [new]


def test_split_btf_continues_ids_and_strings():
    base = every_kind().to_spec(name="vmlinux")
    b = Builder(base=base)
    first = b.add(Struct("mod_thing", 8, [Member("n", 3 + 1, 0)]))
    b.add(Typedef("node", first))
    split = Spec.from_bytes(b.to_bytes(), base=base, name="mod")
    assert first == base.type_count
    assert split.first_id == base.type_count
    assert split[first].members[0].type == 4
    assert split[1] == base[1]
    assert split.ids_by_name("node") == [3, first + 1]
    assert split.size_of(first + 1) == 8
    again = Spec.from_bytes(split.to_bytes(), base=base)
    assert again[first] == split[first]


def test_big_endian_blob():
    blob = every_kind().to_bytes()
    hdr = struct.unpack_from("<HBBIIIII", blob)
    type_len = hdr[5]
    words = struct.unpack_from(f"<{type_len // 4}I", blob, 24)
    be = (struct.pack(">HBBIIIII", *hdr) + struct.pack(f">{len(words)}I", *words)
          + blob[24 + type_len:])
    spec = Spec.from_bytes(be)
    assert spec[3] == every_kind().types[2]
    assert spec.to_bytes() == blob


def _hdr(blob: bytes, **fields) -> bytes:
    names = ["magic", "version", "flags", "hdr_len", "type_off", "type_len", "str_off", "str_len"]
    vals = dict(zip(names, struct.unpack_from("<HBBIIIII", blob)))
    vals.update(fields)
    return struct.pack("<HBBIIIII", *[vals[n] for n in names]) + blob[24:]


@pytest.mark.parametrize("change, message", [
    (dict(magic=0x1234), "bad magic"),
    (dict(version=2), "version"),
    (dict(hdr_len=10_000), "header length"),
    (dict(type_len=100_000), "type section"),
    (dict(str_len=100_000), "string section"),
    (dict(type_off=2), "aligned"),
])
def test_bad_headers(change, message):
    blob = every_kind().to_bytes()
    with pytest.raises(BTFError, match=message):
        Spec.from_bytes(_hdr(blob, **change))


def test_truncated_and_unknown_kind():
    b = Builder()
    b.add(Int("int", 4))
    b.add(Struct("s", 4, [Member("a", 1, 0)]))
    blob = b.to_bytes()
    type_len = struct.unpack_from("<I", blob, 12)[0]
    with pytest.raises(BTFError, match="type id 2 at offset 40 runs past"):
        Spec.from_bytes(_hdr(blob, type_len=type_len - 4, str_off=type_len - 4)[:24]
                        + blob[24:24 + type_len - 4] + blob[24 + type_len:])
    bad = bytearray(blob)
    bad[24 + 16 + 7] = 25  # kind byte of type 2
    with pytest.raises(BTFError, match="unknown kind 25"):
        Spec.from_bytes(bytes(bad))
    bad[24 + 16 + 7] = 0
    with pytest.raises(BTFError, match="unknown kind 0"):
        Spec.from_bytes(bytes(bad))
    with pytest.raises(BTFError, match="too short"):
        Spec.from_bytes(blob[:10])


def test_bad_references_raise_on_decode():
    b = Builder()
    b.add(Ptr(99))
    b.add(Struct("s", 4, []))
    spec = b.to_spec()
    with pytest.raises(BTFError, match="type id 99 out of range.*type id 1"):
        spec[1]
    assert spec[2].name == "s"


def test_encode_errors():
    b = Builder()
    b.add(Int("int", -4))
    with pytest.raises(BTFError, match="type id 1"):
        b.to_bytes()
    with pytest.raises(TypeError):
        Builder().add(Void())


def test_name_offset_into_the_middle_of_a_string():
    b = Builder()
    b.add(Struct("xnode", 0, []))
    b.add(Struct("other", 0, []))
    blob = bytearray(b.to_bytes())
    name_off = struct.unpack_from("<I", blob, 24)[0]
    struct.pack_into("<I", blob, 24 + 12, name_off + 1)  # type 2 named by "xnode"'s tail
    spec = Spec.from_bytes(bytes(blob))
    assert spec.name_of(2) == "node"
    assert spec.ids_by_name("node") == [2]
    assert spec.ids_by_name("xnode") == [1]
    assert spec.ids_by_name("other") == []


def test_split_names_in_the_base_string_table():
    base = every_kind().to_spec(name="vmlinux")
    b = Builder(base=base)
    b.add(Struct("mod_only", 0, []))
    blob = bytearray(b.to_bytes())
    struct.pack_into("<I", blob, 24, 5)  # rename to the base's string at offset 5
    split = Spec.from_bytes(bytes(blob), base=base)
    name = base.string(5)
    assert split.name_of(base.type_count) == name
    assert base.type_count in split.ids_by_name(name)
