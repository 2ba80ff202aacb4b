"""pybpf.linker: subprogram layout, call/callback rebasing, map and data references,
ext info rebasing and extern patching (all without the kernel)."""
from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import pytest

from pybpf import asm
from pybpf.btf import Builder, Func, FuncProto, Int, Kind, Param, Ptr, Struct, Typedef, Var
from pybpf.btf.types import FUNC_GLOBAL, FUNC_STATIC
from pybpf.elf import ObjectSpec
from pybpf.errors import LoadError
from pybpf.kernel_facts import parse_config
from pybpf.linker import externs, link_program

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"


def obj(name: str) -> ObjectSpec:
    return ObjectSpec.from_file(OBJECTS / f"{name}.bpf.o")


def call_targets(insns):
    """(slot, target slot) of every pseudo call and function-address ld_imm64."""
    out = []
    for i, insn in enumerate(insns):
        if insn.is_pseudo_call or insn.is_pseudo_func:
            out.append((i, i + insn.imm + 1))
    return out


@pytest.mark.parametrize("prog,layout", [
    ("first_prog", ["first_prog", "loop_cb", "square_plus", "square"]),
    ("second_prog", ["second_prog", "square", "global_add"]),
])
def test_subprograms_appended_once(prog, layout):
    spec = obj("loader_calls")
    linked = link_program(spec, prog)
    assert [fn.name for _, fn in linked.functions] == layout
    starts = [start for start, _ in linked.functions]
    assert len(linked.instructions) == sum(len(fn.instructions) for _, fn in linked.functions)
    targets = call_targets(linked.instructions)
    assert targets and all(t in starts[1:] for _, t in targets)
    # the callback is passed as a BPF_PSEUDO_FUNC ld_imm64 pointing at loop_cb
    funcs = [t for i, t in targets if linked.instructions[i].is_pseudo_func]
    if prog == "first_prog":
        assert funcs == [starts[layout.index("loop_cb")]]
    # func_info: one record per function at its new start; line_info rebased and sorted
    assert [f.insn_off // 8 for f in linked.func_info] == starts
    lines = [li.insn_off for li in linked.line_info]
    assert lines == sorted(lines) and lines[0] == 0
    assert all(off // 8 < len(linked.instructions) for off in lines)


def test_original_spec_untouched():
    spec = obj("loader_calls")
    before = [i.copy() for i in spec.programs["first_prog"].instructions]
    link_program(spec, "first_prog")
    assert spec.programs["first_prog"].instructions == before


def test_map_references_and_fds():
    spec = obj("loader_calls")
    linked = link_program(spec, "first_prog")
    assert {r.map for r in linked.map_refs} == {"results"}
    for ref in linked.map_refs:
        insn = linked.instructions[ref.slot]
        assert insn.is_ld_imm64 and insn.src == asm.BPF_PSEUDO_MAP_FD and insn.imm == 0
    patched = linked.with_map_fds({"results": 42})
    assert all(patched[r.slot].imm == 42 for r in linked.map_refs)
    assert all(linked.instructions[r.slot].imm == 0 for r in linked.map_refs)
    with pytest.raises(LoadError, match="'results' was not created"):
        linked.with_map_fds({})


def test_global_data_references_carry_offsets():
    spec = obj("loader_data")
    linked = link_program(spec, "read_globals")
    offsets = {}
    for ref in linked.map_refs:
        insn, hi = linked.instructions[ref.slot], linked.instructions[ref.slot + 1]
        assert insn.src == asm.BPF_PSEUDO_MAP_VALUE
        offsets.setdefault(ref.map, set()).add(hi.imm)
    assert set(offsets) == {".bss", ".data", ".data.foo", ".rodata", ".rodata.bar",
                            ".rodata.str1.1"}
    assert offsets[".rodata.str1.1"] == {0}  # "pybpf" is the only literal
    starts = {spec.constants.info(n).offset for n in spec.constants}
    assert offsets[".rodata"] <= starts  # each reference points at a variable's first byte
    for name, offs in offsets.items():
        assert all(0 <= o < spec.maps[name].value_size for o in offs)


def test_unknown_program():
    with pytest.raises(LoadError, match="no program named 'nope'"):
        link_program(obj("minimal"), "nope")


# -- externs ----------------------------------------------------------------------------------

def facts(vmlinux, config=None, address_of=None):
    """A made-up kernel 6.18.68 with a syscall wrapper: what the loader would pass."""
    def no_config():
        raise AssertionError("the kernel config was not needed here")
    return externs.KernelFacts(btf=lambda: vmlinux, version=lambda: 0x061244,
                               config=(lambda: config) if config is not None else no_config,
                               has_syscall_wrapper=lambda: True,
                               address_of=address_of or {}.get)


def fake_vmlinux(acquire_params: int = 1):
    b = Builder()
    task = b.add(Struct("task_struct", 8, []))
    ptr = b.add(Ptr(task))
    acquire = b.add(FuncProto(ptr, [Param(f"p{i}", ptr) for i in range(acquire_params)]))
    release = b.add(FuncProto(0, [Param("p", ptr)]))
    ids = {"bpf_task_acquire": b.add(Func("bpf_task_acquire", acquire)),
           "bpf_task_release": b.add(Func("bpf_task_release", release))}
    return b.to_spec(), ids


CONFIG = {"CONFIG_BPF_SYSCALL": "y", "CONFIG_BPF_JIT": "y", "CONFIG_HZ": "250",
          "CONFIG_DEFAULT_HOSTNAME": '"(none)"'}


def kconfig_values(spec):
    data = spec.maps[".kconfig"].data
    return {e.name: bytes(data[e.offset:e.offset + e.size])
            for e in spec.externs.values() if e.section == ".kconfig"}


def test_fill_kconfig():
    spec = obj("loader_externs")
    externs.fill_kconfig(spec, facts(fake_vmlinux()[0], CONFIG))
    got = kconfig_values(spec)
    assert got["LINUX_KERNEL_VERSION"] == struct.pack("<i", 0x061244)
    assert got["LINUX_HAS_SYSCALL_WRAPPER"] == b"\1"
    assert got["CONFIG_BPF_SYSCALL"] == b"\1"
    assert got["CONFIG_BPF_JIT"] == struct.pack("<i", 1)  # TRI_YES
    assert got["CONFIG_HZ"] == struct.pack("<i", 250)
    assert got["CONFIG_DEFAULT_HOSTNAME"] == b"(none)".ljust(16, b"\0")
    assert got["CONFIG_PYBPF_NOT_A_REAL_OPTION"] == b"\0\0\0\0"  # __weak and missing


@pytest.mark.parametrize("change,match", [
    ({"CONFIG_HZ": None}, "CONFIG_HZ.*not in the kernel config and not __weak"),
    ({"CONFIG_BPF_SYSCALL": "m"}, "needs a tristate or char"),
    ({"CONFIG_HZ": "y"}, "needs a bool, tristate or char"),
    ({"CONFIG_HZ": "lots"}, "not a number"),
    ({"CONFIG_BPF_JIT": "7"}, "not y/m/n"),
    ({"CONFIG_DEFAULT_HOSTNAME": "plain"}, "not a string"),
])
def test_fill_kconfig_refuses(change, match):
    spec = obj("loader_externs")
    config = dict(CONFIG)
    for key, value in change.items():
        if value is None:
            del config[key]
        else:
            config[key] = value
    with pytest.raises(LoadError, match=match):
        externs.fill_kconfig(spec, facts(fake_vmlinux()[0], config))


def test_tristate_module_and_long_string():
    spec = obj("loader_externs")
    config = dict(CONFIG, CONFIG_BPF_JIT="m", CONFIG_DEFAULT_HOSTNAME='"' + "h" * 40 + '"')
    externs.fill_kconfig(spec, facts(fake_vmlinux()[0], config))
    got = kconfig_values(spec)
    assert got["CONFIG_BPF_JIT"] == struct.pack("<i", 2)  # TRI_MODULE
    assert got["CONFIG_DEFAULT_HOSTNAME"] == b"h" * 15 + b"\0"


def test_patch_externs():
    spec = obj("loader_externs")
    vmlinux, ids = fake_vmlinux()
    kallsyms = {"bpf_task_release_dtor": 0xFFFFFFFF81524660}
    ksyms = externs.resolve_ksyms(spec, facts(vmlinux, address_of=kallsyms.get))
    assert ksyms["bpf_task_acquire"].btf_id == ids["bpf_task_acquire"]
    linked = link_program(spec, "kfunc_user")
    externs.patch_externs(linked, spec, ksyms)
    kcalls = [i for i in linked.instructions if i.is_kfunc_call]
    assert [c.imm for c in kcalls] == [ids["bpf_task_acquire"], ids["bpf_task_release"]]
    linked = link_program(spec, "read_kconfig")
    externs.patch_externs(linked, spec, ksyms)
    values = [asm.ld_imm64_value(linked.instructions, r.slot) for r in linked.extern_refs
              if spec.externs[r.name].typeless]
    assert values == [0xFFFFFFFF81524660]
    kconfig_refs = [r for r in linked.map_refs if r.map == ".kconfig"]
    assert {linked.instructions[r.slot + 1].imm for r in kconfig_refs} <= {
        e.offset for e in spec.externs.values() if e.section == ".kconfig"}
    assert len(kconfig_refs) == 7


def test_missing_ksyms():
    spec = obj("loader_externs")
    empty = Builder().to_spec()
    with pytest.raises(LoadError, match="'bpf_task_release_dtor': not in /proc/kallsyms"):
        externs.resolve_ksyms(spec, facts(empty, address_of={}.get))
    with pytest.raises(LoadError, match="kfunc not found in the kernel's BTF"):
        externs.resolve_ksyms(spec, facts(empty, address_of={"bpf_task_release_dtor": 1}.get))


def test_kfunc_prototype_must_match_the_kernel():
    spec = obj("loader_externs")
    vmlinux, _ = fake_vmlinux(acquire_params=2)
    with pytest.raises(LoadError, match="'bpf_task_acquire': kfunc type is incompatible"):
        externs.resolve_ksyms(spec, facts(vmlinux, address_of={"bpf_task_release_dtor": 1}.get))


def test_typed_ksym_becomes_btf_id():
    spec = obj("loader_ksym_typed")
    b = Builder()
    stat = b.add(Typedef("irq_cpustat_t", b.add(Struct("", 16, []))))
    irq_stat = b.add(Var("irq_stat", stat))
    vmlinux = b.to_spec()
    ksyms = externs.resolve_ksyms(spec, facts(vmlinux, address_of={}.get))
    linked = link_program(spec, "typed_ksym")
    externs.patch_externs(linked, spec, ksyms)
    (ref,) = linked.extern_refs
    insn = linked.instructions[ref.slot]
    assert insn.src == asm.BPF_PSEUDO_BTF_ID and insn.imm == irq_stat


def test_parse_config():
    text = "# comment\nCONFIG_A=y\nCONFIG_B=\"x y\"\n# CONFIG_C is not set\nCONFIG_D=0x10\n"
    assert parse_config(text) == {"CONFIG_A": "y", "CONFIG_B": '"x y"', "CONFIG_C": "n",
                                         "CONFIG_D": "0x10"}


def _linked_everywhere():
    """(object, program, LinkedProgram) for every program of every committed object."""
    for path in sorted(OBJECTS.glob("*.bpf.o")):
        spec = ObjectSpec.from_file(path)
        if spec.btf_ext is None:
            continue
        for name in spec.programs:
            yield path.name, name, link_program(spec, name)


def test_func_info_is_one_record_per_function_start():
    # the kernel counts a subprogram at every call or callback target and refuses
    # func_info of another length; every committed object's programs must agree
    checked = 0
    for obj_name, prog, linked in _linked_everywhere():
        if not linked.func_info:
            continue
        offs = [rec.insn_off for rec in linked.func_info]
        assert offs == [start * 8 for start, _ in linked.functions], (obj_name, prog)
        assert offs == sorted(set(offs)) and offs[0] == 0, (obj_name, prog)
        checked += 1
    assert checked > 50


def test_callbacks_are_listed():
    linked = link_program(obj("loader_calls"), "first_prog")
    starts = {fn.name: start for start, fn in linked.functions}
    assert [name for _, name in linked.callbacks] == ["loop_cb"]
    slot = linked.callbacks[0][0]
    assert linked.instructions[slot].is_pseudo_func
    assert slot + linked.instructions[slot].imm + 1 == starts["loop_cb"]
    assert link_program(obj("loader_calls"), "second_prog").callbacks == []


def _own_func_info(spec: ObjectSpec) -> ObjectSpec:
    """The spec with a func_info table of its own, safe to edit."""
    spec.btf_ext = dataclasses.replace(spec.btf_ext, func_info=dict(spec.btf_ext.func_info))
    return spec


def test_subprogram_without_func_info_is_refused_by_name():
    spec = _own_func_info(obj("loader_calls"))
    linked = link_program(spec, "first_prog")
    square = next(fn for _, fn in linked.functions if fn.name == "square")
    records = spec.btf_ext.func_info[square.section]
    spec.btf_ext.func_info[square.section] = [
        r for r in records if r.insn_off != square.insn_offset * 8]
    with pytest.raises(LoadError, match=r"^program 'first_prog': function 'square' .*func_info"):
        link_program(spec, "first_prog")


def test_program_without_func_info_loads_without_any():
    spec = _own_func_info(obj("loader_calls"))
    main = spec.programs["first_prog"]
    records = spec.btf_ext.func_info[main.section]
    spec.btf_ext.func_info[main.section] = [
        r for r in records if r.insn_off != main.insn_offset * 8]
    linked = link_program(spec, "first_prog")
    assert linked.func_info == [] and linked.line_info


# -- libbpf parity (issue #12) ---------------------------------------------------------------

def test_subprograms_appended_depth_first_as_libbpf():
    """mid_a's callee leaf_c comes before the caller's next callee mid_b (libbpf recurses
    into a subprogram as soon as it appends it)."""
    linked = link_program(obj("loader_parity"), "nested_calls")
    assert [fn.name for _, fn in linked.functions] == ["nested_calls", "mid_a", "leaf_c", "mid_b"]
    starts = [start for start, _ in linked.functions]
    assert [f.insn_off // 8 for f in linked.func_info] == starts
    assert sorted(t for _, t in call_targets(linked.instructions)) == starts[1:]


def test_hidden_global_function_is_static_in_btf():
    spec = obj("loader_parity")
    funcs = {spec.btf[t].name: spec.btf[t].linkage for t in spec.btf.iter_ids()
             if spec.btf.kind_of(t) == Kind.FUNC}
    assert funcs["hidden_store"] == FUNC_STATIC
    assert funcs["ksym_probe"] == FUNC_GLOBAL  # programs stay global


def parity_vmlinux():
    b = Builder()
    task = b.add(Ptr(b.add(Struct("task_struct", 8, []))))
    s32 = b.add(Int("int", 4, signed=True))
    ids = {"bpf_task_from_pid": b.add(Func("bpf_task_from_pid", b.add(FuncProto(task, [
               Param("pid", s32)])), FUNC_GLOBAL)),
           "bpf_task_release": b.add(Func("bpf_task_release", b.add(FuncProto(0, [
               Param("p", task)])), FUNC_GLOBAL))}
    return b.to_spec(), ids


def test_ksym_exists_loads_the_kfunc_btf_id_or_zero():
    spec = obj("loader_parity")
    vmlinux, ids = parity_vmlinux()
    ksyms = externs.resolve_ksyms(spec, facts(vmlinux))
    assert ksyms["bpf_pybpf_no_such_kfunc"].btf_id == 0  # __weak and missing
    linked = link_program(spec, "ksym_probe")
    externs.patch_externs(linked, spec, ksyms)
    loads = {r.name: linked.instructions[r.slot] for r in linked.extern_refs
             if linked.instructions[r.slot].is_ld_imm64}
    present, missing = loads["bpf_task_from_pid"], loads["bpf_pybpf_no_such_kfunc"]
    assert (present.src, present.imm) == (asm.BPF_PSEUDO_BTF_ID, ids["bpf_task_from_pid"])
    assert asm.ld_imm64_value(linked.instructions, linked.instructions.index(present)) & \
        0xFFFFFFFF00000000 == 0  # btf_obj_fd 0: vmlinux
    assert (missing.src, missing.imm) == (0, 0)
    calls = [i for i in linked.instructions if i.is_kfunc_call]
    assert [c.imm for c in calls] == [ids["bpf_task_from_pid"], ids["bpf_task_release"]]


def test_missing_weak_kfunc_call_is_libbpf_poison():
    """libbpf >= 1.2: helper call 2002000000 + the extern's index, externs sorted by name."""
    spec = obj("loader_weak_kfunc")
    assert externs.libbpf_extern_order(spec) == ["bpf_pybpf_no_such_kfunc",
                                                 "bpf_pybpf_other_missing"]
    ksyms = externs.resolve_ksyms(spec, facts(Builder().to_spec()))
    linked = link_program(spec, "weak_call")
    externs.patch_externs(linked, spec, ksyms)
    calls = [(i.src, i.imm) for i in linked.instructions if i.is_call]
    assert calls == [(0, 2002000000), (0, 2002000001)]
    log = "5: (85) call unknown#2002000001\ninvalid func unknown#2002000001\n"
    assert externs.kfunc_of_poison(spec, log) == "bpf_pybpf_other_missing"
    assert externs.kfunc_of_poison(spec, "invalid func unknown#2002000009\n") is None


def test_libbpf_extern_order_puts_kconfig_first():
    spec = obj("loader_externs")
    order = externs.libbpf_extern_order(spec)
    kconfig = [e for e in order if spec.externs[e].section == ".kconfig"]
    assert order[:len(kconfig)] == sorted(kconfig, key=lambda e: spec.externs[e].offset)
    assert order[len(kconfig):] == sorted(order[len(kconfig):])
