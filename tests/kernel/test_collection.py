"""pybpf.load against the kernel: programs run and see their maps, global data,
constants, externs and subprograms; pins are shared; failures leave nothing.

Tests marked ``vm`` also run in vmtests on older kernels; they skip, naming the
missing feature, where a corpus object needs more than that kernel has."""
from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

import pybpf
from pybpf import core, features
from pybpf import kernel_facts as kernel
from pybpf.elf import ObjectSpec, find_sec_def
from pybpf.errors import CoreRelocationError, LoadError, VerifierError
from pybpf.maps import Map
from pybpf.sys.syscall import kernel_version_code
from pybpf.uapi import MapType, ProgType

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"
KEY0 = b"\0\0\0\0"


BPF_FUNC_LOOP = 181


def need(support, what: str) -> None:
    if not support:
        pytest.skip(f"this kernel lacks {what}: {getattr(support, 'reason', '')}")


def need_loader_maps() -> None:
    need(features.has_map_type(MapType.BLOOM_FILTER), "bloom filter maps (5.16)")
    need(features.has_map_type(MapType.RINGBUF), "ring buffers (5.8)")


def need_loader_externs() -> None:
    try:
        kernel.kernel_config()
    except LoadError as exc:
        pytest.skip(str(exc))
    need(core.kernel_btf().ids_by_name("bpf_task_acquire"), "the bpf_task_acquire kfunc (6.2)")


def spec(name: str) -> ObjectSpec:
    return ObjectSpec.from_file(OBJECTS / f"{name}.bpf.o")


def trigger(n: int = 3) -> None:
    for _ in range(n):
        os.getppid()


def u64s(raw: bytes):
    return list(struct.unpack(f"<{len(raw) // 8}Q", raw))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.vm
def test_minimal_counts_with_constant_filter():
    s = spec("minimal")
    s.constants["targ_tgid"] = os.getpid()
    with pybpf.load(s) as coll, coll.attach_all():
        trigger(5)
        assert u64s(coll.maps["counter"].raw[KEY0]) == [5]
    s.constants["targ_tgid"] = 0x7FFFFFF0  # nobody
    with pybpf.load(s) as coll, coll.attach_all():
        trigger(5)
        assert u64s(coll.maps["counter"].raw[KEY0]) == [0]


@pytest.mark.vm
def test_subprograms_and_callbacks_run():
    need(features.has_helper(ProgType.TRACEPOINT, BPF_FUNC_LOOP), "bpf_loop (5.17)")
    with pybpf.load(OBJECTS / "loader_calls.bpf.o") as coll, coll.attach_all():
        trigger(1)
        results = coll.maps["results"].raw
        got = [u64s(results[struct.pack("<I", i)])[0] for i in range(4)]
    assert got == [10, 10, 49, 42]


@pytest.mark.vm
def test_global_data_and_rodata():
    s = spec("loader_data")
    s.constants["scale"] = -70
    s.constants["tag"] = b"xyz\0\0\0\0\0"
    s.constants["bar_val"] = 11
    s.constants["targ_tgid"] = os.getpid()
    s.variables["foo_val"] = 13
    with pybpf.load(s) as coll:
        assert set(coll.maps) == {".bss", ".data", ".data.foo", ".rodata", ".rodata.bar",
                                  ".rodata.str1.1"}
        with coll.attach_all():
            trigger(2)
        bss = coll.maps[".bss"].raw[KEY0]
        hits = struct.unpack_from("<Q", bss, s.variables.info("bss_hits").offset)[0]
        out_off = s.variables.info("bss_out").offset
        out = list(struct.unpack_from("<4q", bss, out_off))
        data = coll.maps[".data"].raw[KEY0]
        counter = struct.unpack_from("<i", data, s.variables.info("data_counter").offset)[0]
        name_off = s.variables.info("bss_name").offset
        assert bss[name_off:name_off + 6] == b"pybpf\0"  # read from the .rodata.str1.1 map
        rodata = coll.maps[".rodata"]
        with pytest.raises(pybpf.BPFError):
            rodata[KEY0] = bytes(rodata.value_size)  # frozen: user space cannot write
    assert hits == 2 and counter == 7
    assert out == [-70, ord("x") + ord("y") + ord("z"), 13, 11]


@pytest.mark.vm
def test_map_in_map_and_prog_array_slots():
    need_loader_maps()
    with pybpf.load(OBJECTS / "loader_maps.bpf.o") as coll:
        m = coll.maps
        outer = m["outer"]
        ids = {i: outer.get(struct.pack("<I", i)) for i in range(4)}
        assert ids[1] is None and ids[3] is None
        assert struct.unpack("<I", ids[0])[0] == m["inner_a"].id
        assert struct.unpack("<I", ids[2])[0] == m["inner_b"].id
        slot = m["jump_table"].get(struct.pack("<I", 1))
        assert struct.unpack("<I", slot)[0] == coll.programs["tail_target"].id
        with coll.attach_all():
            trigger(1)
        assert u64s(m["hash_map"].raw[struct.pack("<I", 1)]) == [1]   # the tail call ran
        assert struct.unpack("<I", m["inner_a"].raw[KEY0])[0] >= 1     # through outer[0]
        assert m["perf_events"].max_entries >= 1  # sized to the possible CPUs


@pytest.mark.vm
def test_externs_resolved():
    need_loader_externs()
    with pybpf.load(OBJECTS / "loader_externs.bpf.o") as coll:
        assert set(coll.programs) == {"read_kconfig", "kfunc_user"}
        with coll.attach_all():
            trigger(1)
        out = u64s(coll.maps[".bss"].raw[KEY0])
    config = kernel.kernel_config()
    assert out[0] == kernel_version_code()
    assert out[1] == int(kernel.has_syscall_wrapper())
    assert out[2] == 1 and out[3] == 1                 # CONFIG_BPF_SYSCALL=y, BPF_JIT=y
    assert out[4] == int(config["CONFIG_HZ"])
    assert out[5] == ord(config["CONFIG_DEFAULT_HOSTNAME"].strip('"')[1])
    assert out[6] == 0                                 # __weak, not in the config
    assert out[7] == kernel.kallsyms()["bpf_task_release_dtor"]


@pytest.mark.vm
def test_verifier_rejection_names_program_and_closes_all():
    before = open_fds()
    with pytest.raises(VerifierError) as info:
        pybpf.load(OBJECTS / "loader_reject.bpf.o")
    assert info.value.program == "out_of_bounds"
    assert "invalid access to map value" in info.value.log
    assert open_fds() == before


def test_typed_ksym_refused_by_kernel():
    # here the verifier finds no address; kernels whose BTF lacks irq_stat fail earlier
    with pytest.raises(LoadError, match="typed_ksym|irq_stat"):
        pybpf.load(OBJECTS / "loader_ksym_typed.bpf.o")


def test_log_level_keeps_log():
    with pybpf.load(OBJECTS / "minimal.bpf.o", log_level=1) as coll:
        assert "processed" in coll.programs["count_getppid"].verifier_log


def test_programs_subset_and_unknown():
    with pybpf.load(OBJECTS / "loader_calls.bpf.o", programs=["second_prog"]) as coll:
        assert list(coll.programs) == ["second_prog"]
    with pytest.raises(LoadError, match="no program named 'nope'"):
        pybpf.load(OBJECTS / "loader_calls.bpf.o", programs=["nope"])


@pytest.mark.vm
def test_pinned_map_shared_between_loads(pin_dir):
    obj = OBJECTS / "loader_pinned.bpf.o"
    with pybpf.load(obj, pin_root=pin_dir) as first:
        assert sorted(os.listdir(pin_dir)) == ["pybpf_shared"]
        with pybpf.load(obj, pin_root=pin_dir) as second:
            assert second.maps["pybpf_shared"].id == first.maps["pybpf_shared"].id
            assert second.maps["private_map"].id != first.maps["private_map"].id
            with first.attach_all(), second.attach_all():
                trigger(2)
            key = struct.pack("<I", os.getpid())
            assert u64s(first.maps["pybpf_shared"].raw[key]) == [4]
    assert os.listdir(pin_dir) == ["pybpf_shared"]  # pins outlive the collection
    os.unlink(pin_dir / "pybpf_shared")


def test_incompatible_pin_refused(pin_dir):
    with Map.new(1, 4, 16, 8, name="wrong") as other:  # value size 16, not 8
        other.pin(pin_dir / "pybpf_shared")
        before = open_fds()
        with pytest.raises(LoadError, match="pybpf_shared.*incompatible.*value_size 16 != 8"):
            pybpf.load(OBJECTS / "loader_pinned.bpf.o", pin_root=pin_dir)
        assert open_fds() == before
        other.unpin()


@pytest.mark.vm
def test_failed_load_removes_its_pins(pin_dir):
    before = open_fds()
    with pytest.raises(VerifierError, match="broken"):
        pybpf.load(OBJECTS / "loader_pinned.bpf.o", pin_root=pin_dir,
                   programs=["count_shared", "broken"])
    assert os.listdir(pin_dir) == []
    assert open_fds() == before


@pytest.mark.parametrize("name", ["minimal", "loader_maps", "loader_data", "loader_externs"])
def test_no_fd_leak_over_many_loads(name):
    if name == "loader_maps":
        need_loader_maps()
    elif name == "loader_externs":
        need_loader_externs()
    obj = spec(name)
    pybpf.load(obj).close()  # warm caches (kernel BTF, config, kallsyms)
    before = open_fds()
    for _ in range(25):
        coll = pybpf.load(obj)
        coll.close()
        with pybpf.load(obj):
            pass
    for _ in range(5):
        with pytest.raises(VerifierError):
            pybpf.load(OBJECTS / "loader_reject.bpf.o")
    assert open_fds() == before


def test_close_is_idempotent_and_context_closes():
    coll = pybpf.load(OBJECTS / "minimal.bpf.o")
    prog = coll.programs["count_getppid"]
    with coll:
        pass
    assert prog.closed and coll.maps["counter"].closed
    coll.close()


def test_prog_array_slot_of_unloaded_program_stays_empty():
    need_loader_maps()
    with pybpf.load(OBJECTS / "loader_maps.bpf.o", programs=["use_maps", "touch_rest"]) as coll:
        assert "tail_target" not in coll.programs
        assert coll.maps["jump_table"].get(struct.pack("<I", 1)) is None


def test_reachable_poisoned_core_relocation_named():
    obj = OBJECTS / "core_unguarded.bpf.o"  # pybpf.core's corpus: a field no kernel has
    if not obj.exists():
        pytest.skip("core_unguarded.bpf.o not built")
    with pytest.raises(CoreRelocationError, match="no_such_field.*reachable") as info:
        pybpf.load(obj)
    assert isinstance(info.value.__cause__, VerifierError)


def test_unsupported_and_unknown_program_types_named():
    s = spec("minimal")
    prog = s.programs["count_getppid"]
    prog.prog_type = 0  # as for an unknown SEC() name
    with pytest.raises(LoadError, match="'count_getppid': unknown section"):
        pybpf.load(s)
    prog.prog_type = int(find_sec_def("freplace/x").prog_type)
    before = open_fds()
    with pytest.raises(LoadError, match="freplace programs need the program they replace"):
        pybpf.load(s)
    assert open_fds() == before
    # a struct_ops program that no struct_ops map uses: left out (libbpf >= 1.3), or named
    prog.prog_type = int(find_sec_def("struct_ops/x").prog_type)
    with pybpf.load(s) as coll:
        assert "count_getppid" not in coll.programs
    with pytest.raises(LoadError, match="'count_getppid': no struct_ops map uses this"):
        pybpf.load(s, programs=["count_getppid"])
    assert open_fds() == before


def test_target_btf_by_path():
    obj = spec("core_read")  # pybpf.core's corpus: CO-RE against the target BTF
    try:
        pybpf.load(obj).close()
    except CoreRelocationError as exc:
        pytest.skip(f"core_read does not relocate on this kernel: {exc.args[0].splitlines()[0]}")
    with pybpf.load(obj, btf="/sys/kernel/btf/vmlinux") as coll:
        assert set(coll.programs) == set(obj.programs)
