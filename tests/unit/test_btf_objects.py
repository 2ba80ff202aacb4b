"""BTF and .BTF.ext of real clang-built objects: parsing, round trips, fixups, sanitizing."""
from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from pybpf.btf import (
    FEATURES,
    Builder,
    Const,
    Datasec,
    Enum,
    Int,
    Kind,
    Spec,
    Struct,
    Typedef,
    Union,
    fixup_datasecs,
    sanitize,
)
from pybpf.btf.ext import CoreReloKind, FuncInfo, pack_func_info, pack_line_info, parse_ext
from pybpf.errors import BTFError

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "bpf" / "objects" / "minimal.bpf.o"
VMLINUX = "/sys/kernel/btf/vmlinux"

KINDS = ROOT / "bpf" / "objects" / "btf_kinds.bpf.o"


@pytest.fixture(scope="module")
def kinds_obj() -> Path:
    assert KINDS.exists(), "run make -C bpf objects/btf_kinds.bpf.o"
    return KINDS


def sections(path: Path):
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        btf = elf.get_section_by_name(".BTF").data()
        ext = elf.get_section_by_name(".BTF.ext").data()
        sizes = {s.name: s["sh_size"] for s in elf.iter_sections()}
        names = {i: s.name for i, s in enumerate(elf.iter_sections())}
        symbols: dict = {}
        for sym in elf.get_section_by_name(".symtab").iter_symbols():
            if sym["st_info"]["type"] == "STT_OBJECT" and isinstance(sym["st_shndx"], int):
                symbols.setdefault(names[sym["st_shndx"]], {})[sym.name] = sym["st_value"]
    return btf, ext, sizes, symbols


def all_types(spec: Spec) -> list:
    return [spec[i] for i in range(spec.first_id, spec.type_count)]


def test_minimal_ext():
    btf, ext, _, _ = sections(MINIMAL)
    spec = Spec.from_bytes(btf, name="minimal")
    info = parse_ext(ext, spec)
    (sec,) = info.func_info
    assert sec.startswith("tracepoint/")
    (fi,) = info.func_info[sec]
    assert fi.insn_off == 0 and spec[fi.type_id].kind == Kind.FUNC
    lines = info.line_info[sec]
    assert lines[0].insn_off == 0 and lines[0].file_name.endswith("minimal.bpf.c")
    assert all(a.insn_off <= b.insn_off for a, b in zip(lines, lines[1:]))
    assert info.core_relos == {}
    assert pack_func_info([fi]) == struct.pack("<II", 0, fi.type_id)
    rec = pack_line_info(lines[1:2], insn_base=8)
    assert struct.unpack("<IIII", rec)[0] == 0
    assert spec.string(struct.unpack("<IIII", rec)[2]) == lines[1].line_text


def test_core_relos(kinds_obj):
    btf, ext, _, _ = sections(kinds_obj)
    spec = Spec.from_bytes(btf)
    relos = parse_ext(ext, spec).core_relos["raw_tp/sys_enter"]
    kinds = {r.kind for r in relos}
    assert {CoreReloKind.FIELD_BYTE_OFFSET, CoreReloKind.FIELD_EXISTS,
            CoreReloKind.ENUMVAL_VALUE, CoreReloKind.TYPE_SIZE,
            CoreReloKind.FIELD_LSHIFT_U64, CoreReloKind.FIELD_RSHIFT_U64} <= kinds
    parent = next(r for r in relos if r.access_str == "0:5")
    assert spec.name_of(parent.type_id) == "task"
    assert all(r.insn_off % 8 == 0 for r in relos)


def ext_blob(rec_size: int, records: list, name_off: int, core: bool = False) -> bytes:
    """A .BTF.ext with one func_info (or core_relo) block of one section."""
    words = len(records[0])
    body = struct.pack("<III", rec_size, name_off, len(records))
    for rec in records:
        body += struct.pack(f"<{words}I", *rec) + b"\xee" * (rec_size - 4 * words)
    if core:
        return struct.pack("<HBBIIIIIII", 0xEB9F, 1, 0, 32, 0, 0, 0, 0, 0, len(body)) + body
    return struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(body), 0, 0) + body


def test_ext_record_sizes_and_errors():
    b = Builder()
    proto = b.add(Int("int", 4))
    b.add(Typedef("sec_name", proto))
    spec = b.to_spec()
    name_off = 5  # "int\0" then "sec_name"
    assert spec.string(name_off) == "sec_name"
    big = parse_ext(ext_blob(16, [(8, 2), (16, 1)], name_off), spec)
    assert big.func_info == {"sec_name": [FuncInfo(8, 2), FuncInfo(16, 1)]}
    assert big.func_info_rec_size == 16
    core = parse_ext(ext_blob(20, [(0, 1, name_off, 9)], name_off, core=True), spec)
    assert core.core_relos["sec_name"][0].kind == CoreReloKind.TYPE_SIZE
    assert core.core_relos["sec_name"][0].access_str == "sec_name"
    cases = [
        (ext_blob(4, [(8,)], name_off), "record size 4"),
        (ext_blob(10, [(8, 2)], name_off), "record size 10"),
        (ext_blob(8, [(8, 2)], 999), "string offset 999"),
        (ext_blob(8, [(8, 2)], name_off)[:-4], "runs past"),
        (ext_blob(16, [(0, 1, name_off, 77)], name_off, core=True), "unknown kind 77"),
        (b"\x00" * 24, "bad magic"),
        (b"\x9f\xeb\x01", "too short"),
    ]
    for blob, message in cases:
        with pytest.raises(BTFError, match=message):
            parse_ext(blob, spec)
    no_records = (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 0, 0)
                  + struct.pack("<III", 8, name_off, 0))
    with pytest.raises(BTFError, match="no records"):
        parse_ext(no_records, spec)


@pytest.mark.parametrize("which", ["minimal", "kinds"])
def test_round_trip_through_encoder(which, kinds_obj):
    path = MINIMAL if which == "minimal" else kinds_obj
    btf = sections(path)[0]
    spec = Spec.from_bytes(btf)
    assert spec.to_bytes() == btf  # unmodified: copied as is
    b = Builder()
    for t in all_types(spec):
        b.add(t)
    rebuilt = Spec.from_bytes(b.to_bytes())
    assert all_types(rebuilt) == all_types(spec)
    again = Spec.from_bytes(rebuilt.to_bytes())
    assert all_types(again) == all_types(spec)
    # every type re-encoded in place, against the original string table
    for i in range(1, spec.type_count):
        spec.set_type(i, spec[i])
    assert all_types(Spec.from_bytes(spec.to_bytes())) == all_types(rebuilt)


@pytest.mark.skipif(not os.access(VMLINUX, os.R_OK), reason="no readable vmlinux BTF")
def test_vmlinux_reencodes_byte_for_byte():
    """vmlinux BTF is deduplicated, so re-encoding every type gives the same bytes."""
    spec = Spec.load_file(VMLINUX)
    original = open(VMLINUX, "rb").read()
    assert spec.to_bytes() == original
    for i in range(1, spec.type_count):
        spec.set_type(i, spec[i])
    assert spec.to_bytes() == original


def test_fixup_datasecs(kinds_obj):
    btf, _, sizes, symbols = sections(kinds_obj)
    spec = Spec.from_bytes(btf)
    fixup_datasecs(spec, sizes, symbols)
    out = Spec.from_bytes(spec.to_bytes())
    for name in (".data", ".bss", ".rodata", "license"):
        (sec_id,) = out.ids_by_name(name)
        sec = out[sec_id]
        assert sec.size == sizes[name]
        for vsi in sec.vars:
            assert vsi.offset == symbols[name][out.name_of(vsi.type)]
        assert [v.offset for v in sec.vars] == sorted(v.offset for v in sec.vars)
    data = out[out.ids_by_name(".data")[0]]
    assert [out.name_of(v.type) for v in data.vars] == ["ratio", "ratio_ptr", "big_value",
                                                         "neg_value"]
    with pytest.raises(BTFError, match="'.bss'.*no ELF section"):
        fixup_datasecs(Spec.from_bytes(btf), {}, symbols)
    with pytest.raises(BTFError, match="variable 'out'"):
        fixup_datasecs(Spec.from_bytes(btf), sizes, {})


def test_sanitize_without_any_feature(kinds_obj):
    btf, _, sizes, symbols = sections(kinds_obj)
    spec = Spec.from_bytes(btf)
    fixup_datasecs(spec, sizes, symbols)
    assert Spec.from_bytes(sanitize(spec, FEATURES)).to_bytes() == spec.to_bytes()
    old = Spec.from_bytes(sanitize(spec, frozenset()))
    assert old.type_count == spec.type_count + 1  # the enum64 placeholder
    old_kinds = {old.kind_of(i) for i in old.iter_ids()}
    assert not old_kinds & {Kind.VAR, Kind.DATASEC, Kind.FUNC, Kind.FUNC_PROTO, Kind.FLOAT,
                            Kind.DECL_TAG, Kind.TYPE_TAG, Kind.ENUM64}
    for i in spec.iter_ids():
        t, s = spec[i], old[i]
        if t.kind == Kind.DATASEC:
            assert isinstance(s, Struct) and s.size == t.size and "." not in s.name
            assert [m.bit_offset for m in s.members] == [v.offset * 8 for v in t.vars]
        elif t.kind in (Kind.VAR, Kind.DECL_TAG):
            assert s == Int(t.name, 1, 0, 8)
        elif t.kind == Kind.FUNC:
            assert s == Typedef(t.name, t.type)
        elif t.kind == Kind.FUNC_PROTO:
            assert isinstance(s, Enum) and [v.value for v in s.values] == [
                p.type for p in t.params]
        elif t.kind == Kind.FLOAT:
            assert s == Struct("", t.size, [])
        elif t.kind == Kind.TYPE_TAG:
            assert s == Const(t.type)
        elif t.kind == Kind.ENUM64:
            assert isinstance(s, Union) and s.members[0].type == spec.type_count
        elif t.kind == Kind.ENUM:
            assert not s.signed
        else:
            assert s == t
    assert spec[spec.ids_by_name("probe")[0]].linkage == 1
    no_global = Spec.from_bytes(sanitize(spec, FEATURES - {"func_global"}))
    assert no_global[spec.ids_by_name("probe")[0]].linkage == 0
    with pytest.raises(ValueError):
        sanitize(spec, {"bogus"})


def test_sanitize_qmark_datasec():
    b = Builder()
    i = b.add(Int("int", 4))
    b.add(Datasec("?.data.opt", 4, []))
    b.add(Enum("e", 4, True, []))
    spec = b.to_spec()
    out = Spec.from_bytes(sanitize(spec, FEATURES - {"qmark_datasec"}))
    assert out[2] == Datasec("_.data.opt", 4, [])
    assert out[i] == spec[i]
    assert out[3] == spec[3]  # signed enums only matter without enum64
