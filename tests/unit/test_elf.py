"""pybpf.elf: ObjectSpec from the loader corpus, and refusal of malformed input."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from pybpf.elf import ObjectSpec, UnknownVariableError, internal_map_name, object_name
from pybpf.elf.specs import PIN_NONE, RELO_CALL, RELO_DATA, RELO_EXTERN, RELO_FUNC, RELO_MAP
from pybpf.errors import BTFError, ELFError
from pybpf.uapi import AttachType, MapFlags, MapType, ProgType

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"


def obj(name: str) -> ObjectSpec:
    return ObjectSpec.from_file(OBJECTS / f"{name}.bpf.o")


def raw(name: str) -> bytes:
    return (OBJECTS / f"{name}.bpf.o").read_bytes()


def section_header(data: bytes, name: str):
    elf = ELFFile(io.BytesIO(data))
    return elf.get_section_by_name(name).header


# -- well-formed objects -------------------------------------------------------------------------

def test_minimal():
    spec = obj("minimal")
    assert spec.license == "GPL" and spec.obj_name == "minimal"
    prog = spec.programs["count_getppid"]
    assert prog.section == "tracepoint/syscalls/sys_enter_getppid"
    assert prog.prog_type == ProgType.TRACEPOINT and prog.sec_def.kind == "tracepoint"
    assert prog.attach_to == "syscalls/sys_enter_getppid"
    assert prog.license == "GPL" and prog.autoload
    assert {r.kind for r in prog.relocations.values()} == {RELO_MAP, RELO_DATA}
    counter = spec.maps["counter"]
    assert (counter.type, counter.key_size, counter.value_size, counter.max_entries) == (
        MapType.ARRAY, 4, 8, 1)
    assert spec.btf.name_of(counter.value_type_id) == "__u64"
    rodata = spec.maps[".rodata"]
    assert rodata.kernel_name == "minimal.rodata" and rodata.freeze
    assert rodata.flags == MapFlags.MMAPABLE | MapFlags.RDONLY_PROG


def test_constants_rewrite_rodata():
    spec = obj("loader_data")
    assert spec.constants["targ_tgid"] == 0
    spec.constants["targ_tgid"] = 1234
    var = spec.constants.info("targ_tgid")
    image = spec.maps[".rodata"].data
    assert image[var.offset:var.offset + 4] == struct.pack("<I", 1234)
    assert spec.constants["scale"] == -3            # signed from BTF
    spec.constants["scale"] = -70
    assert spec.constants["scale"] == -70
    assert spec.constants["tag"] == b"abc\0\0\0\0\0"  # char array reads as bytes
    spec.constants["tag"] = b"xyz\0\0\0\0\0"
    assert spec.constants["bar_val"] == 9            # .rodata.bar
    assert spec.variables["data_counter"] == 5 and spec.variables["foo_val"] == 7
    assert set(spec.constants) == {"targ_tgid", "scale", "tag", "bar_val"}


@pytest.mark.parametrize("name,value,match", [
    ("targ_tgid", 1 << 32, "does not fit"),
    ("targ_tgid", -1, "does not fit"),
    ("targ_tgid", b"\0\0", "is 4 bytes, got 2"),
    ("tag", 5, "not an integer"),
    ("targ_tgid", 1.5, "expected int or bytes"),
])
def test_constants_checked(name, value, match):
    spec = obj("loader_data")
    with pytest.raises(ELFError, match=match):
        spec.constants[name] = value


def test_unknown_constant_names_the_known():
    spec = obj("loader_data")
    with pytest.raises(UnknownVariableError, match="targ_tgid") as info:
        spec.constants["targ_tigd"] = 1
    assert isinstance(info.value, KeyError) and "loader_data.bpf.o" in str(info.value)
    assert "data_counter" not in spec.constants  # .data is not constant


def test_global_data_maps():
    spec = obj("loader_data")
    assert sorted(spec.maps) == [".bss", ".data", ".data.foo", ".rodata", ".rodata.bar",
                                 ".rodata.str1.1"]
    names = {k: m.kernel_name for k, m in spec.maps.items()}
    assert names == {".bss": "loader_d.bss", ".data": "loader_d.data", ".data.foo": ".data.foo",
                     ".rodata": "loader_d.rodata", ".rodata.bar": ".rodata.bar",
                     ".rodata.str1.1": ".rodata.str1.1"}
    assert bytes(spec.maps[".rodata.str1.1"].data) == b"pybpf\0"
    assert not spec.maps[".data"].freeze and spec.maps[".rodata.bar"].freeze
    assert spec.maps[".bss"].data == bytearray(spec.maps[".bss"].value_size)
    assert spec.maps[".data"].flags == MapFlags.MMAPABLE
    for m in spec.maps.values():
        assert m.type == MapType.ARRAY and m.max_entries == 1 and m.key_size == 4
        if m.name == ".rodata.str1.1":  # string literals have no DATASEC
            assert m.value_type_id == 0
            continue
        assert spec.btf.name_of(m.value_type_id) == m.name  # the DATASEC
        assert spec.btf[m.value_type_id].size == m.value_size


@pytest.mark.parametrize("obj_name,section,expected", [
    ("minimal", ".rodata", "minimal.rodata"),
    ("a_very_long_object", ".bss", "a_very_l.bss"),
    ("x", ".kconfig", "x.kconfig"),
    ("loader_externs", ".kconfig", "loader_.kconfig"),
    ("o", ".rodata.str1.1", ".rodata.str1.1"),
    ("o", ".data.a-b", ".data.a_b"),
])
def test_internal_map_name(obj_name, section, expected):
    assert internal_map_name(obj_name, section) == expected


def test_object_name():
    assert object_name("/x/y/loader_data.bpf.o") == "loader_data"


def test_several_programs_per_section_and_subprograms():
    spec = obj("loader_calls")
    assert sorted(spec.programs) == ["first_prog", "second_prog"]
    sections = {p.section for p in spec.programs.values()}
    assert sections == {"tracepoint/syscalls/sys_enter_getppid"}
    assert spec.programs["second_prog"].insn_offset > 0
    text = sorted(f.name for (sec, _), f in spec.functions.items() if sec == ".text")
    assert text == ["global_add", "loop_cb", "square", "square_plus"]  # store() is inlined
    assert not any(name in spec.programs for name in text)
    kinds = {r.kind for p in spec.programs.values() for r in p.relocations.values()}
    assert {RELO_CALL, RELO_FUNC, RELO_MAP} <= kinds


def test_btf_maps_of_several_kinds():
    spec = obj("loader_maps")
    m = spec.maps
    assert m["hash_map"].type == MapType.HASH and m["hash_map"].max_entries == 128
    assert (m["lru_map"].key_size, m["lru_map"].value_size) == (8, 16)
    assert m["lru_map"].key_type_id == 0  # sizes only, no types
    assert m["trie"].flags == 1 and m["trie"].type == MapType.LPM_TRIE
    assert m["bloom"].map_extra == 3 and m["bloom"].key_size == 0
    assert m["perf_events"].max_entries == 0  # Map.create sizes it to the CPUs
    assert m["ring"].type == MapType.RINGBUF and m["ring"].max_entries == 4096
    assert m["queue"].value_size == 4 and m["hash_map"].pinning == PIN_NONE


def test_map_in_map_and_prog_array_initial_slots():
    spec = obj("loader_maps")
    outer = spec.maps["outer"]
    assert outer.type == MapType.ARRAY_OF_MAPS and outer.value_size == 4
    assert outer.inner.type == MapType.ARRAY and outer.inner.value_size == 4
    assert outer.inner.name == "outer.inner"
    assert outer.contents == {0: "inner_a", 2: "inner_b"}
    jump = spec.maps["jump_table"]
    assert jump.contents == {1: "tail_target"} and jump.value_size == 4
    assert spec.programs["tail_target"].attach_to == ""


def test_externs():
    spec = obj("loader_externs")
    ext = spec.externs
    assert ext["bpf_task_acquire"].is_func and ext["bpf_task_release"].is_func
    assert ext["bpf_task_release_dtor"].typeless
    assert ext["CONFIG_PYBPF_NOT_A_REAL_OPTION"].weak
    kconfig = [e for e in ext.values() if e.section == ".kconfig"]
    assert {e.name for e in kconfig} == {
        "LINUX_KERNEL_VERSION", "LINUX_HAS_SYSCALL_WRAPPER", "CONFIG_BPF_SYSCALL",
        "CONFIG_BPF_JIT", "CONFIG_HZ", "CONFIG_DEFAULT_HOSTNAME", "CONFIG_PYBPF_NOT_A_REAL_OPTION"}
    # libbpf's layout: 4-byte values first (by name), then 1-byte ones, then the string
    order = [e.name for e in sorted(kconfig, key=lambda e: e.offset)]
    assert order == ["CONFIG_BPF_JIT", "CONFIG_HZ", "CONFIG_PYBPF_NOT_A_REAL_OPTION",
                     "LINUX_KERNEL_VERSION", "CONFIG_BPF_SYSCALL", "LINUX_HAS_SYSCALL_WRAPPER",
                     "CONFIG_DEFAULT_HOSTNAME"]
    kmap = spec.maps[".kconfig"]
    assert kmap.value_size == 34 and kmap.freeze and kmap.kernel_name == "loader_.kconfig"
    datasec = spec.btf[kmap.value_type_id]
    assert datasec.size == 34
    assert sorted(v.offset for v in datasec.vars) == sorted(e.offset for e in kconfig)
    prog = spec.programs["kfunc_user"]
    assert prog.prog_type == ProgType.TRACING
    assert prog.expected_attach_type == AttachType.TRACE_RAW_TP
    assert prog.attach_to == "sched_process_fork"
    assert any(r.kind == RELO_EXTERN for r in prog.relocations.values())


def test_legacy_maps():
    spec = obj("loader_legacy")
    counts = spec.maps["legacy_counts"]
    assert (counts.type, counts.key_size, counts.value_size, counts.max_entries) == (
        MapType.ARRAY, 4, 8, 2)
    assert spec.maps["legacy_hash"].type == MapType.HASH and counts.section == "maps"


# -- malformed input -----------------------------------------------------------------------------

def expect_elf_error(data: bytes, match: str) -> None:
    with pytest.raises(ELFError, match=match) as info:
        ObjectSpec.from_bytes(data, "bad.o")
    assert str(info.value).startswith("bad.o: ")


def test_not_elf():
    expect_elf_error(b"hello world", "not an ELF file")
    expect_elf_error(b"", "not an ELF file")


def test_truncated():
    data = raw("minimal")
    for cut in (20, 64, len(data) // 2, len(data) - 1):
        with pytest.raises((ELFError, BTFError)):
            ObjectSpec.from_bytes(data[:cut], "bad.o")


def test_non_bpf_machine():
    data = bytearray(raw("minimal"))
    data[18:20] = struct.pack("<H", 62)  # EM_X86_64
    expect_elf_error(bytes(data), "not a BPF object")


def test_corrupt_section_table():
    data = bytearray(raw("minimal"))
    data[0x28:0x30] = struct.pack("<Q", len(data) + 4096)  # e_shoff past the end
    expect_elf_error(bytes(data), "malformed ELF: .*past EOF")


def test_relocation_outside_section():
    data = bytearray(raw("minimal"))
    rel = section_header(bytes(data), ".reltracepoint/syscalls/sys_enter_getppid")
    data[rel.sh_offset:rel.sh_offset + 8] = struct.pack("<Q", 0x10000)
    expect_elf_error(bytes(data), "outside section")


def test_relocation_symbol_outside_table():
    data = bytearray(raw("minimal"))
    rel = section_header(bytes(data), ".reltracepoint/syscalls/sys_enter_getppid")
    data[rel.sh_offset + 8:rel.sh_offset + 16] = struct.pack("<Q", (9999 << 32) | 1)
    expect_elf_error(bytes(data), "outside the symbol table")


def test_relocation_on_wrong_instruction():
    data = bytearray(raw("minimal"))
    rel = section_header(bytes(data), ".reltracepoint/syscalls/sys_enter_getppid")
    data[rel.sh_offset:rel.sh_offset + 8] = struct.pack("<Q", 0)  # insn 0 is a mov
    expect_elf_error(bytes(data), "not ld_imm64 or call")


def test_absurd_legacy_map_def():
    data = bytearray(raw("loader_legacy"))
    maps = section_header(bytes(data), "maps")
    data[maps.sh_offset + 4:maps.sh_offset + 8] = struct.pack("<I", 0xFFFFFFFF)  # key_size
    expect_elf_error(bytes(data), "key size 4294967295 is absurd")
    data = bytearray(raw("loader_legacy"))
    data[maps.sh_offset:maps.sh_offset + 4] = struct.pack("<I", 0)  # type
    expect_elf_error(bytes(data), "invalid map type 0")


def test_code_size_not_multiple_of_8():
    data = bytearray(raw("minimal"))
    elf = ELFFile(io.BytesIO(bytes(data)))
    index = [s.name for s in elf.iter_sections()].index("tracepoint/syscalls/sys_enter_getppid")
    hdr = elf["e_shoff"] + index * elf["e_shentsize"]
    size_at = hdr + 32  # sh_size in Elf64_Shdr
    size = struct.unpack_from("<Q", data, size_at)[0]
    data[size_at:size_at + 8] = struct.pack("<Q", size - 4)
    expect_elf_error(bytes(data), "not a multiple of 8")


def test_missing_file():
    with pytest.raises(ELFError, match="cannot read"):
        ObjectSpec.from_file("/nonexistent/x.bpf.o")
