"""Codec: decoding/encoding C values from BTF layouts (pure, Builder-made and real BTF)."""
from __future__ import annotations

import os
import struct

import pytest

from pybpf.btf import (
    INT_BOOL,
    Array,
    Builder,
    Const,
    Enum,
    EnumValue,
    Float,
    Fwd,
    Int,
    Member,
    Ptr,
    Spec,
    Struct,
    Typedef,
    Union,
)
from pybpf.btf.codec import Codec, codec_for_name
from pybpf.errors import BTFError

VMLINUX = "/sys/kernel/btf/vmlinux"


@pytest.fixture(scope="module")
def spec() -> Spec:
    b = Builder()
    i32 = b.add(Int("int", 4, signed=True))                         # 1
    u8 = b.add(Int("unsigned char", 1))                             # 2
    ch = b.add(Int("char", 1, signed=True))                         # 3
    u64 = b.add(Int("unsigned long long", 8))                       # 4
    comm = b.add(Array(ch, i32, 16))                                # 5
    addr = b.add(Array(u8, i32, 4))                                 # 6
    pair = b.add(Struct("pair", 8, [Member("a", i32, 0), Member("b", i32, 32)]))  # 7
    pairs = b.add(Array(pair, i32, 2))                              # 8
    ints = b.add(Array(i32, i32, 3))                                # 9
    en = b.add(Enum("state", 4, True, [EnumValue("NEG", -1)]))     # 10
    boolean = b.add(Int("_Bool", 1, INT_BOOL))                      # 11
    dbl = b.add(Float("double", 8))                                 # 12
    ptr = b.add(Ptr(pair))                                          # 13
    u = b.add(Union("", 8, [Member("whole", u64, 0), Member("halves", pair, 0)]))  # 14
    td = b.add(Typedef("comm_t", comm))                             # 15
    cst = b.add(Const(td))                                          # 16
    i128 = b.add(Int("__int128", 16, signed=True))                  # 17
    b.add(Struct("event", 96, [                                     # 18
        Member("pid", i32, 0),
        Member("low", u8, 32, 3),
        Member("high", u8, 35, 5),
        Member("sign", i32, 40, 4),
        Member("comm", cst, 64),
        Member("addr", addr, 192),
        Member("ok", boolean, 224),
        Member("state", en, 256),
        Member("", u, 320),
        Member("ratio", dbl, 384),
        Member("p", ptr, 448),
        Member("pairs", pairs, 512),
        Member("big", i128, 640),
    ]))
    b.add(Struct("small", 12, [Member("v", ints, 0)]))              # 19
    many = b.add(Array(pair, i32, 40))                              # 20
    b.add(Struct("many", 320, [Member("items", many, 0)]))          # 21
    b.add(Fwd("opaque"))                                            # 22
    b.add(Struct("with_fwd", 8, [Member("o", 22, 0)]))              # 23
    return b.to_spec(name="codec test")


EVENT = {"pid": 7, "low": 5, "high": 17, "sign": -2, "comm": "bash", "addr": b"\x7f\0\0\x01",
         "ok": True, "state": -1, "whole": 0x0000000200000001, "halves": {"a": 1, "b": 2},
         "ratio": 0.5, "p": 0xFFFF8880_00001000, "pairs": [{"a": 3, "b": 4}, {"a": 5, "b": 6}],
         "big": -(1 << 100)}


def test_event_round_trip(spec):
    c = Codec.for_type(spec, 18)
    assert c.size == 96 and c.struct.size == 96
    raw = c.encode(EVENT)
    assert struct.unpack_from("<i", raw)[0] == 7
    assert raw[4] == 5 | (17 << 3) and raw[5] & 0xF == 0xE
    assert raw[8:24] == b"bash" + bytes(12)
    assert c.decode(raw) == EVENT
    assert c.decode(memoryview(bytearray(raw))) == EVENT
    assert c.decode_from(b"\xff" * 8 + raw, 8) == EVENT


def test_defaults_scalars_and_cache(spec):
    c = Codec.for_type(spec, 18)
    assert Codec.for_type(spec, 18) is c
    zero = c.decode(c.encode({}))
    assert zero["comm"] == "" and zero["pairs"] == [{"a": 0, "b": 0}] * 2
    assert Codec.for_type(spec, 1).decode(struct.pack("<i", -9)) == -9
    assert Codec.for_type(spec, 1).encode(-9) == struct.pack("<i", -9)
    assert Codec.for_type(spec, 16).decode(b"ab\0cd" + bytes(11)) == "ab"
    assert Codec.for_type(spec, 16).encode("x" * 20) == b"x" * 16
    assert Codec.for_type(spec, 19).decode(struct.pack("<3i", 1, -2, 3)) == {"v": [1, -2, 3]}
    assert Codec.for_type(spec, 19).encode({"v": [1]}) == struct.pack("<3i", 1, 0, 0)


def test_union_members_overlap(spec):
    c = Codec.for_type(spec, 14)
    assert c.decode(struct.pack("<ii", 1, 2)) == {"whole": (2 << 32) | 1,
                                                  "halves": {"a": 1, "b": 2}}
    assert c.encode({"halves": {"a": 9, "b": 1}}) == struct.pack("<ii", 9, 1)


def test_long_array_of_structs_uses_nested_codec(spec):
    c = codec_for_name(spec, "many")
    value = {"items": [{"a": i, "b": -i} for i in range(40)]}
    raw = c.encode(value)
    assert raw == b"".join(struct.pack("<ii", i, -i) for i in range(40))
    assert c.decode(raw) == value


def test_errors(spec):
    c = Codec.for_type(spec, 18)
    with pytest.raises(ValueError, match="event: cannot decode 96 bytes"):
        c.decode_from(b"short", 0)  # decode() takes short records (test_btf_codec_records)
    with pytest.raises(ValueError, match="cannot encode"):
        c.encode({"pid": "nope"})
    with pytest.raises(BTFError, match="no value layout|has no size"):
        Codec.for_type(spec, 23)
    with pytest.raises(BTFError, match="no struct/union/typedef named 'missing'"):
        codec_for_name(spec, "missing")


def test_btf_kinds_object_event():
    from elftools.elf.elffile import ELFFile
    path = os.path.join(os.path.dirname(__file__), "..", "..", "bpf", "objects",
                        "btf_kinds.bpf.o")
    with open(path, "rb") as fh:
        spec = Spec.from_bytes(ELFFile(fh).get_section_by_name(".BTF").data())
    c = codec_for_name(spec, "event")
    value = {"pid": 1, "ts": 2, "comm": "sh", "flag": 1, "level": 15, "delta": -1, "uptr": 8}
    assert c.size == 48 and c.decode(c.encode(value)) == value


@pytest.mark.skipif(not os.access(VMLINUX, os.R_OK), reason="no readable vmlinux BTF")
@pytest.mark.parametrize("name", ["task_struct", "sk_buff", "sock", "in6_addr", "inode",
                                  "perf_event_attr", "bpf_attr"])
def test_vmlinux_types_round_trip(name):
    spec = Spec.load_file(VMLINUX)
    kinds = (spec.kind_of(spec.ids_by_name(name)[0]),)
    c = codec_for_name(spec, name, kinds)
    raw = bytes(c.size)
    assert c.encode(c.decode(raw)) == raw


def test_self_containing_and_deep_types():
    b = Builder()
    i32 = b.add(Int("int", 4, signed=True))
    loop = b.add(Struct("loop", 8, []))
    b[loop].members.append(Member("again", loop, 0))
    inner = i32
    for depth in range(40):
        inner = b.add(Struct(f"level{depth}", 4, [Member("x", inner, 0)]))
    spec = b.to_spec()
    with pytest.raises(BTFError, match="contains itself"):
        Codec.for_type(spec, loop)
    value = Codec.for_type(spec, inner).decode(struct.pack("<i", 3))
    for _ in range(40):
        value = value["x"]
    assert value == 3
