"""Spec.ids_by_names (one pass for many names) agrees with ids_by_name, name by name."""
from __future__ import annotations

import struct

from pybpf.btf import Builder, Int, Member, Spec, Struct, Typedef


def _spec_with_shared_names() -> Spec:
    b = Builder()
    i = b.add(Int("int", 4, signed=True))
    b.add(Struct("task", 8, [Member("int", i, 0), Member("task", i, 32)]))  # members too
    b.add(Typedef("task", 2))
    b.add(Struct("xnode", 0, []))
    b.add(Struct("other", 0, []))
    blob = bytearray(b.to_bytes())
    # type 5 ("other") renamed to the tail of "xnode": a name in the middle of a string
    hdr_len, type_off = 24, 0
    pos = hdr_len + type_off + 16 + (12 + 24) + 12  # int (16), task (12 + 2 members), typedef
    xnode_off = struct.unpack_from("<I", blob, pos)[0]
    struct.pack_into("<I", blob, pos + 12, xnode_off + 1)
    return Spec.from_bytes(bytes(blob))


def test_batch_matches_single_lookups():
    spec = _spec_with_shared_names()
    assert spec.name_of(5) == "node"
    names = ["task", "int", "node", "xnode", "other", "absent", "", "task"]
    single = {n: _spec_with_shared_names().ids_by_name(n) for n in names}
    assert single["task"] == [2, 3] and single["node"] == [5] and single["other"] == []
    assert spec.ids_by_names(names) == single
    assert spec.ids_by_name("task") == [2, 3]  # served from the batch's cache


def test_batch_on_split_btf_includes_base_ids():
    base_b = Builder()
    i = base_b.add(Int("int", 4, signed=True))
    base_b.add(Struct("task", 4, [Member("a", i, 0)]))
    base = base_b.to_spec(name="vmlinux")
    mod = Builder(base=base)
    mod.add(Struct("task", 8, [Member("a", 1, 0)]))
    mod.add(Struct("modonly", 4, [Member("a", 1, 0)]))
    split = Spec.from_bytes(mod.to_bytes(), base=base)
    got = split.ids_by_names(["task", "modonly", "int", "absent"])  # enough for one scan
    assert got == {"task": [2, 3], "modonly": [4], "int": [1], "absent": []}
    assert got == {n: Spec.from_bytes(mod.to_bytes(), base=base).ids_by_name(n) for n in got}


def test_batch_sees_modifications():
    spec = _spec_with_shared_names()
    new = spec.add(Struct("task", 0, []))
    assert spec.ids_by_names(["task", "int"]) == {"task": [2, 3, new], "int": [1]}


def test_mid_string_names_survive_a_saved_index():
    spec = _spec_with_shared_names()
    again = Spec.from_bytes(spec.to_bytes(), index=spec.index_bytes())
    assert again.index_adopted
    assert again.ids_by_names(["node", "xnode", "task"]) == {"node": [5], "xnode": [4],
                                                             "task": [2, 3]}


def test_names_are_matched_literally_and_whole():
    b = Builder()
    i = b.add(Int("int", 4, signed=True))
    b.add(Typedef(".bss", i))
    b.add(Typedef("xbss", i))
    b.add(Typedef("a+b", i))
    b.add(Typedef("int_t", i))
    spec = Spec.from_bytes(b.to_bytes())
    assert spec.ids_by_names([".bss", "a+b", "in", "int", "nt", "aab"]) == {
        ".bss": [2], "a+b": [4], "in": [], "int": [1], "nt": [], "aab": []}
