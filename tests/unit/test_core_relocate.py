"""CO-RE relocation against hand-built BTF: every kind, expected values worked out by hand.

Each test builds a "local" BTF (what the object was compiled against) and a
"kernel" BTF where something changed, relocates a few instructions and
checks the patched instruction.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from pybpf.asm import Instruction
from pybpf.btf import Array, Builder, Enum, Enum64, EnumValue, Fwd, Int, Member, Ptr, Struct, Typedef, Union
from pybpf.core.kinds import POISON_IMM, essential_name
from pybpf.core.kinds import RelocKind as K
from pybpf.core.relocate import Session, relocate
from pybpf.errors import CoreRelocationError

LDX_W = 0x61   # r = *(u32 *)(r + off)
LDX_DW = 0x79  # r = *(u64 *)(r + off)
LDX_B = 0x71
MOV64_K = 0xB7
ADD64_K = 0x07
LD_IMM64 = 0x18
CALL = 0x85


def relo(insn, type_id, access, kind):
    return SimpleNamespace(insn_off=insn, type_id=type_id, access_str=access, kind=int(kind))


def ldx(code, off):
    return Instruction(code, 1, 2, off, 0)


def mov(imm):
    return Instruction(MOV64_K, 0, 0, 0, imm)


def ld64(value):
    return [Instruction(LD_IMM64, 1, 0, 0, value & 0xFFFFFFFF), Instruction(0, 0, 0, 0, value >> 32)]


def ints(b):
    return SimpleNamespace(i32=b.add(Int("int", 4, signed=True)), u32=b.add(Int("u32", 4)),
                           u64=b.add(Int("u64", 8)), u16=b.add(Int("u16", 2)),
                           i64=b.add(Int("long", 8, signed=True)))


def is_poison(insn):
    return insn.code == CALL and insn.imm == POISON_IMM and insn.src == 0 and insn.off == 0


# -- names ------------------------------------------------------------------------------

@pytest.mark.parametrize("name,essential", [
    ("task_struct", "task_struct"), ("task_struct___old", "task_struct"),
    ("a___b___c", "a___b"), ("x___", "x___"), ("___x", "___x"), ("a____b", "a____b"),
    ("a___b_", "a"), ("", ""), ("ab___c", "ab"),
])
def test_essential_name(name, essential):
    assert essential_name(name) == essential


# -- fields -----------------------------------------------------------------------------

def test_field_moved_patches_offsets_and_type_size():
    b = Builder(); t = ints(b)
    s = b.add(Struct("task", 16, [Member("pid", t.i32, 0), Member("x", t.u64, 64)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("other", 4, []))
    ks = k.add(Struct("task", 32, [Member("y", kt.u64, 0), Member("x", kt.u64, 64),
                                   Member("pid", kt.i32, 128)]))
    insns = [ldx(LDX_W, 0), ldx(LDX_DW, 8), mov(16), mov(4), mov(8)]
    res = relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET),
                           relo(1, s, "0:1", K.FIELD_BYTE_OFFSET),
                           relo(2, s, "0", K.TYPE_SIZE),
                           relo(3, s, "0:0", K.FIELD_BYTE_SIZE),
                           relo(4, s, "0:1", K.FIELD_BYTE_SIZE)],
                   b.to_spec(), k.to_spec(), "prog")
    assert [i.off for i in insns[:2]] == [16, 8]
    assert [i.imm for i in insns[2:]] == [32, 4, 8]
    assert res[0].local == "struct task.pid"
    assert res[0].target.endswith(f"[{ks}] struct task.pid")
    assert res[0].candidates[0].detail == "0:2 @ offset 16"
    assert res[0].patch == "off 0 -> 16"


def test_flavored_local_type_finds_kernel_type():
    b = Builder(); t = ints(b)
    old = b.add(Struct("task___old", 8, [Member("state", t.i64, 0)]))
    new = b.add(Struct("task", 8, [Member("__state", t.u32, 0)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("task", 24, [Member("pad", kt.u64, 0), Member("__state", kt.u32, 64)]))
    insns = [mov(1), mov(1), ldx(LDX_DW, 0), ldx(LDX_W, 0)]
    res = relocate(insns, [relo(0, old, "0:0", K.FIELD_EXISTS), relo(1, new, "0:0", K.FIELD_EXISTS),
                           relo(2, old, "0:0", K.FIELD_BYTE_OFFSET),
                           relo(3, new, "0:0", K.FIELD_BYTE_OFFSET)],
                   b.to_spec(), k.to_spec(), "p")
    assert [insns[0].imm, insns[1].imm] == [0, 1]
    assert is_poison(insns[2])
    assert "no field 'state'" in res[2].reason
    assert insns[3].off == 8 and insns[3].code == LDX_W


def test_kernel_flavored_name_is_a_candidate():
    b = Builder(); t = ints(b)
    s = b.add(Struct("sk", 8, [Member("a", t.u64, 0)]))
    k = Builder(); kt = ints(k)
    ks = k.add(Struct("sk___2", 16, [Member("b", kt.u64, 0), Member("a", kt.u64, 64)]))
    insns = [ldx(LDX_DW, 0)]
    res = relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], b.to_spec(), k.to_spec())
    assert insns[0].off == 8
    assert res[0].candidates[0].type_id == ks


def test_unsigned_field_grew_resizes_load():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 8, [Member("a", t.u32, 0), Member("b", t.u32, 32)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 16, [Member("a", kt.u64, 0), Member("b", kt.u64, 64)]))
    insns = [ldx(LDX_W, 4), mov(4)]
    res = relocate(insns, [relo(0, s, "0:1", K.FIELD_BYTE_OFFSET),
                           relo(1, s, "0:1", K.FIELD_BYTE_SIZE)], b.to_spec(), k.to_spec())
    assert (insns[0].code, insns[0].off) == (LDX_DW, 8)
    assert insns[1].imm == 8
    assert res[0].patch == "off 4 -> 8, size 4 -> 8 bytes"


def test_signed_field_changing_size_is_poisoned():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 4, [Member("a", t.i32, 0)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 8, [Member("a", kt.i64, 0)]))
    insns = [ldx(LDX_W, 0)]
    res = relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], b.to_spec(), k.to_spec())
    assert is_poison(insns[0]) and res[0].poison
    assert "cannot be resized" in res[0].reason


def test_pointer_and_typedef_fields_are_compatible():
    b = Builder(); t = ints(b)
    fwd = b.add(Fwd("mm", False))
    pid_t = b.add(Typedef("pid_t", t.i32))
    s = b.add(Struct("task", 16, [Member("mm", b.add(Ptr(fwd)), 0), Member("pid", pid_t, 64)]))
    k = Builder(); kt = ints(k)
    mm = k.add(Struct("mm", 64, []))
    kpid = k.add(Typedef("__kernel_pid_t", kt.i32))
    k.add(Struct("task", 32, [Member("pid", k.add(Typedef("pid_t", kpid)), 32),
                              Member("mm", k.add(Ptr(mm)), 128)]))
    insns = [ldx(LDX_DW, 0), ldx(LDX_W, 8)]
    relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET), relo(1, s, "0:1", K.FIELD_BYTE_OFFSET)],
             b.to_spec(), k.to_spec())
    assert [i.off for i in insns] == [16, 4]


def test_incompatible_field_type_is_not_a_match():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 8, [Member("a", t.u64, 0)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 8, [Member("a", k.add(Ptr(kt.u64)), 0)]))
    insns = [ldx(LDX_DW, 0)]
    res = relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], b.to_spec(), k.to_spec())
    assert is_poison(insns[0])
    assert "incompatible type" in res[0].reason


def test_nested_anonymous_members_and_arrays():
    # local: struct s { int a; union { int b; struct { u32 c; u32 arr[4]; }; }; }
    b = Builder(); t = ints(b)
    arr = b.add(Array(t.u32, t.u32, 4))
    inner = b.add(Struct("", 20, [Member("c", t.u32, 0), Member("arr", arr, 32)]))
    un = b.add(Union("", 20, [Member("b", t.i32, 0), Member("", inner, 0)]))
    s = b.add(Struct("s", 24, [Member("a", t.i32, 0), Member("", un, 32)]))
    # kernel: struct s { u64 pad; int a; struct { u32 x; u32 arr[8]; u32 c; }; }
    k = Builder(); kt = ints(k)
    karr = k.add(Array(kt.u32, kt.u32, 8))
    kin = k.add(Struct("", 40, [Member("x", kt.u32, 0), Member("arr", karr, 32),
                                Member("c", kt.u32, 288)]))
    k.add(Struct("s", 56, [Member("pad", kt.u64, 0), Member("a", kt.i32, 64),
                           Member("", kin, 96)]))
    # &s->arr[2]: 0:1:1:1:2 ; local offset 4 + 4 + 8 = 16; kernel 12 + 4 + 8 = 24
    # s->c: 0:1:1:0 ; local 4, kernel 12 + 36 = 48
    insns = [ldx(LDX_W, 16), ldx(LDX_W, 4), mov(4)]
    res = relocate(insns, [relo(0, s, "0:1:1:1:2", K.FIELD_BYTE_OFFSET),
                           relo(1, s, "0:1:1:0", K.FIELD_BYTE_OFFSET),
                           relo(2, s, "0:1:1:1:2", K.FIELD_BYTE_SIZE)],
                   b.to_spec(), k.to_spec())
    assert [insns[0].off, insns[1].off, insns[2].imm] == [24, 48, 4]
    assert res[0].local == "struct s.arr[2]"
    assert res[0].candidates[0].detail == "0:2:1:2 @ offset 24"


def test_array_index_out_of_target_bounds_is_not_a_match():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 32, [Member("arr", b.add(Array(t.u32, t.u32, 8)), 0)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 8, [Member("arr", k.add(Array(kt.u32, kt.u32, 2)), 0)]))
    insns = [ldx(LDX_W, 20), mov(1)]
    res = relocate(insns, [relo(0, s, "0:0:5", K.FIELD_BYTE_OFFSET),
                           relo(1, s, "0:0:5", K.FIELD_EXISTS)], b.to_spec(), k.to_spec())
    assert is_poison(insns[0]) and insns[1].imm == 0
    assert "past the end" in res[0].reason


def test_flexible_array_allows_any_index():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 4, [Member("n", t.u32, 0), Member("data", b.add(Array(t.u16, t.u32, 0)), 32)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 8, [Member("n", kt.u64, 0), Member("data", k.add(Array(kt.u16, kt.u32, 0)), 64)]))
    insns = [Instruction(0x69, 1, 2, 10, 0)]  # u16 load of data[3]: 4 + 6
    relocate(insns, [relo(0, s, "0:1:3", K.FIELD_BYTE_OFFSET)], b.to_spec(), k.to_spec())
    assert insns[0].off == 14


def test_root_array_index():
    # BPF_CORE_READ on &arr_of_s[1].b: access "1:1"
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 8, [Member("a", t.u32, 0), Member("b", t.u32, 32)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 16, [Member("b", kt.u32, 0), Member("z", kt.u64, 64)]))
    insns = [ldx(LDX_W, 12)]
    res = relocate(insns, [relo(0, s, "1:1", K.FIELD_BYTE_OFFSET)], b.to_spec(), k.to_spec())
    assert insns[0].off == 16
    assert res[0].local == "struct s[1].b"


# -- bitfields ---------------------------------------------------------------------------

def _bitfield_pair():
    """local: plain u32 flags at byte 8; kernel: u32 flags:4 at bit 67."""
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 12, [Member("x", t.u64, 0), Member("flags", t.u32, 64)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 16, [Member("x", kt.u64, 0), Member("mode", kt.u32, 64, 3),
                           Member("flags", kt.u32, 67, 4)]))
    return b.to_spec(), k.to_spec(), s


def test_field_became_bitfield_plain_load_is_poisoned():
    local, kern, s = _bitfield_pair()
    insns = [ldx(LDX_W, 8)]
    res = relocate(insns, [relo(0, s, "0:1", K.FIELD_BYTE_OFFSET)], local, kern)
    # the target is a bitfield: no whole-field size, the load cannot be kept
    assert is_poison(insns[0]) and res[0].fail_memsz_adjust


def test_bitfield_read_values():
    # BPF_CORE_READ_BITFIELD_PROBED: byte offset, byte size, lshift, rshift, signed.
    # kernel: bit 67, 4 bits in a u32: load 4 bytes at 8; lshift = 64-(67+4-64) = 57;
    # rshift = 64-4 = 60; unsigned.
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 12, [Member("x", t.u64, 0), Member("flags", t.u32, 64, 4)]))
    _, kern, _ = _bitfield_pair()
    insns = [Instruction(ADD64_K, 1, 0, 0, 8), mov(4), mov(60), mov(60), mov(0)]
    res = relocate(insns, [relo(0, s, "0:1", K.FIELD_BYTE_OFFSET),
                           relo(1, s, "0:1", K.FIELD_BYTE_SIZE),
                           relo(2, s, "0:1", K.FIELD_LSHIFT_U64),
                           relo(3, s, "0:1", K.FIELD_RSHIFT_U64),
                           relo(4, s, "0:1", K.FIELD_SIGNED)], b.to_spec(), kern)
    assert [i.imm for i in insns] == [8, 4, 57, 60, 0]
    assert not res[0].validate  # bitfield offsets are not checked against the compiler's


def test_bitfield_straddling_widens_the_load():
    # u8 bitfield of 6 bits at bit 13: one byte at 1 holds bits 8..15 (13+6-8 = 11 > 8),
    # two bytes at 0 hold bits 0..15 (19 > 16), four bytes at 0 do: byte_sz 4, byte_off 0;
    # lshift = 64 - (13 + 6 - 0) = 45, rshift = 64 - 6 = 58
    b = Builder(); ints(b)
    u8 = b.add(Int("u8", 1))
    s = b.add(Struct("s", 4, [Member("f", u8, 13, 6)]))
    insns = [mov(4), mov(45), Instruction(ADD64_K, 1, 0, 0, 0), mov(58)]
    relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_SIZE), relo(1, s, "0:0", K.FIELD_LSHIFT_U64),
                     relo(2, s, "0:0", K.FIELD_BYTE_OFFSET), relo(3, s, "0:0", K.FIELD_RSHIFT_U64)],
             b.to_spec(), b.to_spec())
    assert [i.imm for i in insns] == [4, 45, 0, 58]


def test_bitfield_that_no_load_covers_is_an_error():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 16, [Member("f", t.u64, 60, 8)]))  # bits 60..67
    with pytest.raises(CoreRelocationError, match="64-bit load"):
        relocate([mov(0)], [relo(0, s, "0:0", K.FIELD_LSHIFT_U64)], b.to_spec(), b.to_spec())


def test_signed_field():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 8, [Member("a", t.u32, 0)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 8, [Member("a", kt.i32, 0)]))
    insns = [mov(0)]
    relocate(insns, [relo(0, s, "0:0", K.FIELD_SIGNED)], b.to_spec(), k.to_spec())
    assert insns[0].imm == 1


# -- disappeared fields: guarded code still loads ------------------------------------------

def test_missing_field_exists_zero_and_poison_ld_imm64():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 16, [Member("a", t.u64, 0), Member("gone", t.u64, 64)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 8, [Member("a", kt.u64, 0)]))
    insns = [mov(1)] + ld64(8)
    res = relocate(insns, [relo(0, s, "0:1", K.FIELD_EXISTS), relo(1, s, "0:1", K.FIELD_BYTE_OFFSET)],
                   b.to_spec(), k.to_spec(), "guarded")
    assert insns[0].imm == 0
    assert is_poison(insns[1]) and is_poison(insns[2])  # both halves, as libbpf
    assert res[1].poison and "no field 'gone'" in res[1].reason
    assert res[0].poison is False


def test_missing_type():
    b = Builder(); t = ints(b)
    s = b.add(Struct("nothere", 8, [Member("a", t.u64, 0)]))
    k = Builder(); ints(k)
    insns = [mov(1), mov(8), ldx(LDX_DW, 0), mov(1)]
    res = relocate(insns, [relo(0, s, "0", K.TYPE_EXISTS), relo(1, s, "0", K.TYPE_SIZE),
                           relo(2, s, "0:0", K.FIELD_BYTE_OFFSET), relo(3, s, "0", K.TYPE_MATCHES)],
                   b.to_spec(), k.to_spec())
    assert [insns[0].imm, insns[1].imm, insns[3].imm] == [0, 0, 0]
    assert is_poison(insns[2])
    assert "no struct named 'nothere'" in res[2].reason


# -- enums --------------------------------------------------------------------------------

def test_enum_values_changed():
    b = Builder(); ints(b)
    e = b.add(Enum("state", 4, False, [EnumValue("A", 0), EnumValue("B", 1), EnumValue("C", 2),
                                       EnumValue("NEG", 3)]))
    k = Builder(); ints(k)
    k.add(Enum("state", 4, True, [EnumValue("B", 7), EnumValue("A", 9), EnumValue("NEG", -1)]))
    insns = [mov(1), mov(1)] + ld64(0) + [mov(1), mov(3)]
    res = relocate(insns, [relo(0, e, "1", K.ENUMVAL_VALUE), relo(1, e, "2", K.ENUMVAL_EXISTS),
                           relo(2, e, "0", K.ENUMVAL_VALUE), relo(4, e, "2", K.ENUMVAL_VALUE),
                           relo(5, e, "3", K.ENUMVAL_VALUE)], b.to_spec(), k.to_spec())
    assert insns[0].imm == 7 and insns[1].imm == 0
    assert (insns[2].imm, insns[3].imm) == (9, 0)
    assert is_poison(insns[4])
    assert insns[5].imm == -1
    assert res[0].local == "enum state::B"


def test_enum64_value_in_ld_imm64_and_enum_vs_enum64():
    b = Builder(); ints(b)
    e = b.add(Enum("big", 4, False, [EnumValue("X", 1)]))
    k = Builder(); ints(k)
    k.add(Enum64("big", 8, False, [EnumValue("X", 0x1_0000_0002)]))
    insns = ld64(1)
    relocate(insns, [relo(0, e, "0", K.ENUMVAL_VALUE)], b.to_spec(), k.to_spec())
    assert (insns[0].imm, insns[1].imm) == (2, 1)


def test_enumerator_flavor_is_ignored():
    b = Builder(); ints(b)
    e = b.add(Enum("e", 4, False, [EnumValue("X___v2", 5)]))
    k = Builder(); ints(k)
    k.add(Enum("e", 4, False, [EnumValue("X", 8)]))
    insns = [mov(5)]
    relocate(insns, [relo(0, e, "0", K.ENUMVAL_VALUE)], b.to_spec(), k.to_spec())
    assert insns[0].imm == 8


# -- types ---------------------------------------------------------------------------------

def test_type_relocations():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 8, [Member("a", t.u64, 0)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("x", 4, []))
    ks = k.add(Struct("s", 24, [Member("z", kt.u32, 0), Member("a", kt.u64, 64)]))
    insns = [mov(1), mov(8), mov(0)] + ld64(s) + [mov(1)]
    res = relocate(insns, [relo(0, s, "0", K.TYPE_EXISTS), relo(1, s, "0", K.TYPE_SIZE),
                           relo(2, s, "0", K.TYPE_ID_TARGET), relo(3, s, "0", K.TYPE_ID_LOCAL),
                           relo(5, s, "0", K.TYPE_MATCHES)], b.to_spec(), k.to_spec())
    assert [insns[0].imm, insns[1].imm, insns[2].imm] == [1, 24, ks]
    assert (insns[3].imm, insns[4].imm) == (s, 0)
    assert insns[5].imm == 1
    assert res[2].validate is False


def test_type_matches_is_stricter_than_exists():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 8, [Member("a", t.u64, 0), Member("b", t.u32, 64)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 8, [Member("a", kt.u64, 0), Member("b", kt.i32, 64)]))  # b changed sign
    insns = [mov(1), mov(1)]
    relocate(insns, [relo(0, s, "0", K.TYPE_EXISTS), relo(1, s, "0", K.TYPE_MATCHES)],
             b.to_spec(), k.to_spec())
    assert [i.imm for i in insns] == [1, 0]


def test_type_matches_members_subset_and_pointer_to_fwd():
    b = Builder(); t = ints(b)
    other = b.add(Struct("other", 4, [Member("q", t.u32, 0)]))
    s = b.add(Struct("s", 16, [Member("p", b.add(Ptr(other)), 0)]))
    k = Builder(); kt = ints(k)
    kf = k.add(Fwd("other", False))
    k.add(Struct("s", 16, [Member("n", kt.u64, 0), Member("p", k.add(Ptr(kf)), 64)]))
    insns = [mov(1)]
    relocate(insns, [relo(0, s, "0", K.TYPE_MATCHES)], b.to_spec(), k.to_spec())
    assert insns[0].imm == 1


def test_typedef_type_exists():
    b = Builder(); t = ints(b)
    td = b.add(Typedef("my_t", t.u32))
    k = Builder(); kt = ints(k)
    k.add(Struct("my_t", 4, []))  # same name, other kind: not a candidate
    ktd = k.add(Typedef("my_t", kt.u64))
    insns = [mov(1), mov(4)]
    relocate(insns, [relo(0, td, "0", K.TYPE_EXISTS), relo(1, td, "0", K.TYPE_SIZE)],
             b.to_spec(), k.to_spec())
    assert [i.imm for i in insns] == [1, 8]
    assert ktd


# -- candidates ------------------------------------------------------------------------------

def _two_kernel_flavors(second_a_bit):
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 8, [Member("a", t.u64, 0)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 16, [Member("z", kt.u64, 0), Member("a", kt.u64, 64)]))
    k.add(Struct("s___2", 16, [Member("a", kt.u64, second_a_bit), Member("y", kt.u64, 0)]))
    return b.to_spec(), k.to_spec(), s


def test_two_candidates_that_disagree_are_an_error():
    local, kern, s = _two_kernel_flavors(0)
    insns = [ldx(LDX_DW, 0)]
    with pytest.raises(CoreRelocationError) as err:
        relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], local, kern, "amb")
    first = str(err.value).splitlines()[0]
    assert "program 'amb'" in first and "insn #0" in first and "struct s.a" in first
    assert "ambiguity" in first
    assert insns[0].off == 0  # nothing patched


def test_two_candidates_that_agree_are_fine():
    local, kern, s = _two_kernel_flavors(64)
    insns = [ldx(LDX_DW, 0)]
    res = relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], local, kern)
    assert insns[0].off == 8 and [c.matched for c in res[0].candidates] == [True, True]


def test_type_id_target_with_two_matching_candidates_is_ambiguous():
    local, kern, s = _two_kernel_flavors(64)
    with pytest.raises(CoreRelocationError, match="disagree"):
        relocate([mov(0)], [relo(0, s, "0", K.TYPE_ID_TARGET)], local, kern)


def test_candidates_are_pruned_per_session_as_libbpf_does():
    # kernel has s (with a, no b) and s___2 (with b, no a). Relocating .a first keeps only
    # s, so .b then finds no match in the pruned list and is poisoned.
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 16, [Member("a", t.u64, 0), Member("b", t.u64, 64)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 8, [Member("a", kt.u64, 0)]))
    k.add(Struct("s___2", 8, [Member("b", kt.u64, 0)]))
    local, kern = b.to_spec(), k.to_spec()
    session = Session(local, [kern])
    insns = [ldx(LDX_DW, 0), ldx(LDX_DW, 8)]
    relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET), relo(1, s, "0:1", K.FIELD_BYTE_OFFSET)],
             local, kern, session=session)
    assert insns[0].off == 0 and is_poison(insns[1])
    fresh = [ldx(LDX_DW, 8)]
    relocate(fresh, [relo(0, s, "0:1", K.FIELD_BYTE_OFFSET)], local, kern)
    assert fresh[0].off == 0


def test_modules_searched_only_without_vmlinux_candidates():
    k = Builder(); kt = ints(k)
    k.add(Struct("core_t", 8, [Member("a", kt.u64, 0)]))
    vmlinux = k.to_spec("vmlinux")
    m = Builder(base=vmlinux)
    mod_s = m.add(Struct("mod_t", 16, [Member("z", kt.u64, 0), Member("a", kt.u64, 64)]))
    m.add(Struct("core_t", 16, [Member("z", kt.u64, 0), Member("a", kt.u64, 64)]))
    module = m.to_spec("mymod")
    b = Builder(); t = ints(b)
    ls = b.add(Struct("mod_t", 8, [Member("a", t.u64, 0)]))
    lc = b.add(Struct("core_t", 8, [Member("a", t.u64, 0)]))
    insns = [ldx(LDX_DW, 0), ldx(LDX_DW, 0)]
    res = relocate(insns, [relo(0, ls, "0:0", K.FIELD_BYTE_OFFSET),
                           relo(1, lc, "0:0", K.FIELD_BYTE_OFFSET)], b.to_spec(), [vmlinux, module])
    assert insns[0].off == 8 and insns[1].off == 0
    assert res[0].candidates[0].source == "mymod" and res[0].candidates[0].type_id == mod_s
    assert [c.source for c in res[1].candidates] == ["vmlinux"]


# -- refusals -------------------------------------------------------------------------------

def test_instruction_mismatch_is_refused_with_names():
    b = Builder(); t = ints(b)
    s = b.add(Struct("task", 16, [Member("pid", t.u64, 64)]))
    insns = [ldx(LDX_DW, 4)]
    with pytest.raises(CoreRelocationError) as err:
        relocate(insns, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], b.to_spec(), b.to_spec(), "hp")
    text = str(err.value)
    assert text.startswith("program 'hp': insn #0: CO-RE relocation #0 <byte_off> struct task.pid")
    assert "has off 4, expected 8" in text


def test_bad_access_string_and_anonymous_type():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 8, [Member("a", t.u64, 0)]))
    anon = b.add(Struct("", 8, [Member("a", t.u64, 0)]))
    spec = b.to_spec()
    with pytest.raises(CoreRelocationError, match="no member #3"):
        relocate([ldx(LDX_DW, 0)], [relo(0, s, "0:3", K.FIELD_BYTE_OFFSET)], spec, spec)
    with pytest.raises(CoreRelocationError, match="invalid access string"):
        relocate([ldx(LDX_DW, 0)], [relo(0, s, "0::1", K.FIELD_BYTE_OFFSET)], spec, spec)
    with pytest.raises(CoreRelocationError, match="anonymous"):
        relocate([ldx(LDX_DW, 0)], [relo(0, anon, "0:0", K.FIELD_BYTE_OFFSET)], spec, spec)
    with pytest.raises(CoreRelocationError, match="unknown relocation kind 99"):
        relocate([mov(0)], [relo(0, s, "0", 99)], spec, spec)
    with pytest.raises(CoreRelocationError, match="array element"):
        relocate([mov(0)], [relo(0, s, "1", K.FIELD_LSHIFT_U64)], spec, spec)


# -- more instruction forms -------------------------------------------------------------------

def test_store_instructions_and_non_bitfield_shifts():
    # struct s { u16 flags; u64 v; } locally; the kernel moved v to 16 and widened flags to u32
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 16, [Member("flags", t.u16, 0), Member("v", t.u64, 64)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 24, [Member("flags", kt.u32, 32), Member("v", kt.u64, 128)]))
    stx = Instruction(0x7B, 1, 2, 8, 0)    # *(u64 *)(r1 + 8) = r2
    st = Instruction(0x6A, 1, 0, 0, 7)     # *(u16 *)(r1 + 0) = 7
    # BPF_CORE_READ_BITFIELD on a plain u16: lshift 64-16 = 48, rshift 48
    insns = [stx, st, mov(48), mov(48), mov(2)]
    res = relocate(insns, [relo(0, s, "0:1", K.FIELD_BYTE_OFFSET),
                           relo(1, s, "0:0", K.FIELD_BYTE_OFFSET),
                           relo(2, s, "0:0", K.FIELD_LSHIFT_U64),
                           relo(3, s, "0:0", K.FIELD_RSHIFT_U64),
                           relo(4, s, "0:0", K.FIELD_BYTE_SIZE)], b.to_spec(), k.to_spec())
    assert (stx.code, stx.off) == (0x7B, 16)
    assert (st.code, st.off, st.imm) == (0x62, 4, 7)  # u16 store became a u32 store at 4
    # kernel u32 at byte 4: lshift = 64 - (32 + 32 - 32) = 32, rshift = 64 - 32 = 32
    assert [i.imm for i in insns[2:]] == [32, 32, 4]
    assert res[1].patch == "off 0 -> 4, size 2 -> 4 bytes"


def test_signed_enum_field():
    b = Builder(); ints(b)
    e = b.add(Enum("e", 4, False, [EnumValue("A", 0)]))
    s = b.add(Struct("s", 4, [Member("e", e, 0)]))
    k = Builder(); ints(k)
    ke = k.add(Enum("e", 4, True, [EnumValue("A", -1)]))
    k.add(Struct("s", 4, [Member("e", ke, 0)]))
    insns = [mov(0)]
    relocate(insns, [relo(0, s, "0:0", K.FIELD_SIGNED)], b.to_spec(), k.to_spec())
    assert insns[0].imm == 1


def test_refused_instruction_forms():
    b = Builder(); t = ints(b)
    s = b.add(Struct("s", 8, [Member("a", t.u64, 0)]))
    k = Builder(); kt = ints(k)
    k.add(Struct("s", 65536, [Member("a", kt.u64, 40000 * 8)]))
    local, kern = b.to_spec(), k.to_spec()
    with pytest.raises(CoreRelocationError, match="16-bit offset"):
        relocate([ldx(LDX_DW, 0)], [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], local, kern)
    with pytest.raises(CoreRelocationError, match="has no immediate"):
        relocate([Instruction(0x0F, 1, 2, 0, 0)], [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)],
                 local, local)
    bad = ld64(0)
    bad[0].src = 1  # a map reference, not a plain constant
    with pytest.raises(CoreRelocationError, match="unexpected form"):
        relocate(bad, [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], local, local)
    with pytest.raises(CoreRelocationError, match="cannot relocate instruction with code 0x95"):
        relocate([Instruction(0x95)], [relo(0, s, "0:0", K.FIELD_BYTE_OFFSET)], local, local)
    with pytest.raises(CoreRelocationError, match="out of range"):
        relocate([mov(0)], [relo(3, s, "0:0", K.FIELD_BYTE_OFFSET)], local, local)
