"""Codec on what maps and readers hand it: short records with variable-length
tails, data sections (global-data maps), and values of the wrong shape."""
from __future__ import annotations

import struct

import pytest

from pybpf.btf import Array, Builder, Datasec, Int, Member, Struct, Var, VarSecinfo
from pybpf.btf.codec import Codec, codec_for_name


@pytest.fixture(scope="module")
def spec():
    b = Builder()
    u32 = b.add(Int("unsigned int", 4))                              # 1
    ch = b.add(Int("char", 1, signed=True))                          # 2
    u8 = b.add(Int("unsigned char", 1))                              # 3
    comm = b.add(Array(ch, u32, 16))                                 # 4
    blob = b.add(Array(u8, u32, 64))                                 # 5
    words = b.add(Array(u32, u32, 8))                                # 6
    b.add(Struct("exec_event", 96, [                                 # 7
        Member("pid", u32, 0),
        Member("len", u32, 32),
        Member("comm", comm, 64),
        Member("args", blob, 192),
        Member("after", u32, 704),
    ]))
    b.add(Struct("samples", 40, [Member("count", u32, 0),          # 8
                                 Member("v", words, 32),
                                 Member("tail", u32, 288)]))
    counter = b.add(Var("counter", u32))                             # 9
    name = b.add(Var("name", comm))                                  # 10
    b.add(Datasec(".bss", 20, [VarSecinfo(name, 4, 16), VarSecinfo(counter, 0, 4)]))  # 11
    return b.to_spec(name="records test")


def test_full_record_is_unchanged(spec):
    c = codec_for_name(spec, "exec_event")
    raw = struct.pack("<II16s64sI", 7, 3, b"sh", b"a\0b\0c", 9) + bytes(4)
    assert c.decode(raw) == {"pid": 7, "len": 3, "comm": "sh",
                             "args": b"a\0b\0c" + bytes(59), "after": 9}


def test_short_record_cuts_the_byte_tail(spec):
    c = codec_for_name(spec, "exec_event")
    raw = struct.pack("<II16s", 7, 3, b"cat") + b"x\0y\0"
    assert len(raw) == 28 < c.size
    out = c.decode(raw)
    assert out == {"pid": 7, "len": 3, "comm": "cat", "args": b"x\0y\0", "after": 0}
    assert c.decode(memoryview(bytearray(raw))) == out


def test_short_record_ending_inside_a_string(spec):
    c = codec_for_name(spec, "exec_event")
    out = c.decode(struct.pack("<II", 1, 2) + b"bas")
    assert out == {"pid": 1, "len": 2, "comm": "bas", "args": b"", "after": 0}


def test_short_record_cuts_lists_to_whole_elements(spec):
    c = codec_for_name(spec, "samples")
    raw = struct.pack("<I3I", 3, 10, 20, 30) + b"\x01\x02"  # half of a fourth word
    assert c.decode(raw) == {"count": 3, "v": [10, 20, 30], "tail": 0}


def test_empty_record_decodes_to_zeros(spec):
    c = codec_for_name(spec, "samples")
    assert c.decode(b"") == {"count": 0, "v": [], "tail": 0}


def test_decode_from_an_offset_still_needs_the_whole_type(spec):
    c = codec_for_name(spec, "samples")
    with pytest.raises(ValueError, match="samples: cannot decode 40 bytes at offset 4"):
        c.decode_from(bytes(20), 4)


def test_datasec_is_a_dict_of_variables(spec):
    c = Codec.for_type(spec, 11)
    raw = struct.pack("<I16s", 5, b"pybpf")
    assert c.size == 20
    assert c.decode(raw) == {"counter": 5, "name": "pybpf"}
    assert c.encode({"counter": 6}) == struct.pack("<I16s", 6, b"")


def test_encoding_a_record_needs_a_dict(spec):
    c = codec_for_name(spec, "samples")
    with pytest.raises(TypeError, match="samples: encoding needs a dict of its members, not int"):
        c.encode(5)
    assert c.encode({"v": [1, 2]}) == struct.pack("<I8II", 0, 1, 2, 0, 0, 0, 0, 0, 0, 0)
