"""Property: wherever a field sits in the kernel's struct (nested in anonymous
structs/unions, reordered, resized), relocating the local access finds it.

Hypothesis builds a target struct whose named fields are spread over
anonymous members at arbitrary offsets, and a local struct with a subset of
those fields (plus some the target lacks) in another order. Each field's
FIELD_BYTE_OFFSET must become the field's absolute offset in the target,
FIELD_EXISTS 1, and a missing field's load must be poisoned.
"""
from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.asm import Instruction
from pybpf.btf import Array, Builder, Enum, Enum64, EnumValue, Fwd, Int, Member, Ptr, Struct, Typedef, Union
from pybpf.core import POISON_IMM, relocate
from pybpf.core.kinds import RelocKind as K
from pybpf.errors import CoreRelocationError

NAMES = [f"f{i}" for i in range(12)]


@st.composite
def layouts(draw):
    """(target groups, local names, missing names): groups are lists of field names
    placed in an anonymous struct (or union) at some offset, or at top level (None)."""
    present = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8, unique=True))
    groups = []
    rest = list(present)
    while rest:
        n = draw(st.integers(1, len(rest)))
        kind = draw(st.sampled_from([None, "struct", "union"]))
        groups.append((kind, rest[:n]))
        rest = rest[n:]
    local = draw(st.lists(st.sampled_from(present), min_size=1, unique=True))
    missing = draw(st.lists(st.sampled_from([n for n in NAMES if n not in present] or ["zz"]),
                            max_size=2, unique=True))
    pad = draw(st.integers(0, 4))
    return groups, local, missing, pad


def _target(groups, pad):
    k = Builder()
    u64 = k.add(Int("u64", 8))
    members, where = [], {}
    off = pad * 8
    for kind, names in groups:
        if kind is None:
            for name in names:
                members.append(Member(name, u64, off * 8))
                where[name] = off
                off += 8
            continue
        inner = []
        for i, name in enumerate(names):
            rel = 0 if kind == "union" else 8 * i
            inner.append(Member(name, u64, rel * 8))
            where[name] = off + rel
        size = 8 if kind == "union" else 8 * len(names)
        cls = Union if kind == "union" else Struct
        members.append(Member("", k.add(cls("", size, inner)), off * 8))
        off += size
    k.add(Struct("obj", off, members))
    return k.to_spec(), where


@settings(max_examples=150, deadline=None)
@given(layouts())
def test_byte_offset_finds_the_field_anywhere(layout):
    groups, local_names, missing, pad = layout
    target, where = _target(groups, pad)
    b = Builder()
    u64 = b.add(Int("u64", 8))
    names = list(reversed(local_names)) + missing
    local_id = b.add(Struct("obj", 8 * len(names), [Member(n, u64, 64 * i) for i, n in enumerate(names)]))
    insns, relos = [], []
    for i in range(len(names)):
        relos.append(SimpleNamespace(insn_off=len(insns), type_id=local_id, access_str=f"0:{i}",
                                     kind=int(K.FIELD_BYTE_OFFSET)))
        insns.append(Instruction(0x79, 1, 2, 8 * i, 0))
        relos.append(SimpleNamespace(insn_off=len(insns), type_id=local_id, access_str=f"0:{i}",
                                     kind=int(K.FIELD_EXISTS)))
        insns.append(Instruction(0xB7, 0, 0, 0, 1))
    relocate(insns, relos, b.to_spec(), target)
    for i, name in enumerate(names):
        load, exists = insns[2 * i], insns[2 * i + 1]
        if name in where:
            assert (load.code, load.off, exists.imm) == (0x79, where[name], 1)
        else:
            assert (load.code, load.imm, exists.imm) == (0x85, POISON_IMM, 0)


def _fuzz_btfs():
    b = Builder()
    u32 = b.add(Int("u32", 4))
    arr = b.add(Array(u32, u32, 3))
    flex = b.add(Array(u32, u32, 0))
    inner = b.add(Union("", 4, [Member("x", u32, 0), Member("y", u32, 0, 3)]))
    e = b.add(Enum("e", 4, False, [EnumValue("A", 1), EnumValue("B", 2)]))
    s = b.add(Struct("s", 32, [Member("a", u32, 0), Member("arr", arr, 32), Member("", inner, 128),
                               Member("e", e, 160), Member("p", b.add(Ptr(b.add(Fwd("s", False)))), 192),
                               Member("tail", flex, 256)]))
    b.add(Typedef("s_t", s))
    b.add(Struct("", 4, [Member("q", u32, 0)]))
    k = Builder()
    ku = k.add(Int("u32", 4))
    ke = k.add(Enum64("e", 8, True, [EnumValue("B", -5)]))
    k.add(Struct("s", 16, [Member("e", ke, 0), Member("arr", k.add(Array(ku, ku, 1)), 64),
                           Member("x", ku, 96)]))
    k.add(Struct("s___2", 16, [Member("a", ku, 0, 5), Member("x", ku, 5, 20)]))
    k.add(Typedef("s_t", ku))
    return b.to_spec(), k.to_spec()


FUZZ_LOCAL, FUZZ_TARGET = _fuzz_btfs()


@settings(max_examples=400, deadline=None)
@given(type_id=st.integers(0, FUZZ_LOCAL.type_count + 2),
       access=st.one_of(st.lists(st.integers(-2, 6), min_size=1, max_size=5).map(
           lambda xs: ":".join(map(str, xs))), st.sampled_from(["", ":", "0:", "a", "0::1", "0"])),
       kind=st.integers(0, 14), code=st.sampled_from([0x79, 0x61, 0xB7, 0x07, 0x18, 0x0F, 0x95]))
def test_any_relocation_record_succeeds_or_raises_core_error(type_id, access, kind, code):
    insns = [Instruction(code, 1, 2, 0, 0), Instruction(0, 0, 0, 0, 0)]
    rec = SimpleNamespace(insn_off=0, type_id=type_id, access_str=access, kind=kind)
    try:
        relocate(insns, [rec], FUZZ_LOCAL, FUZZ_TARGET, "fuzz")
    except CoreRelocationError as exc:
        assert str(exc).startswith("program 'fuzz': insn #0: CO-RE relocation #0")
