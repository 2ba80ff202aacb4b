"""CO-RE in real loads: pybpf relocates, the kernel runs the programs, /proc agrees.

- the relocated programs are the very programs libbpf builds: same kernel tag
  as `bpftool prog loadall` (the tag hashes the submitted instructions);
- core_read's programs read task fields, bitfields, enums through relocated
  offsets and what they saw matches this process;
- core_flavors loads although it holds poisoned (guarded, dead) instructions;
- core_unguarded's reachable poisoned instruction fails the load, and
  error_from_verifier turns the verifier log into an error naming program,
  instruction, relocation and source line.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import pybpf
from pybpf.btf.codec import Codec
from pybpf.core import error_from_verifier, kernel_btf, relocate_spec
from pybpf.elf import ObjectSpec
from pybpf.errors import LoadError, VerifierError

ROOT = Path(__file__).resolve().parents[2]
OBJECTS = ROOT / "bpf" / "objects"


def _variables(spec, coll, section, *names):
    """Decode global variables of ``section`` from the loaded map."""
    btf = spec.btf
    (sec_id,) = [i for i in btf.ids_by_name(section) if btf.kind_of(i) == 15]
    raw = coll.maps[[k for k in coll.maps if k.endswith(section)][0]].raw[0]
    out = {}
    for vs in btf[sec_id].vars:
        var = btf[vs.type]
        if var.name in names:
            out[var.name] = Codec.for_type(btf, var.type).decode(raw[vs.offset:vs.offset + vs.size])
    return out


def _load(name, **constants):
    spec = ObjectSpec.from_file(OBJECTS / f"{name}.bpf.o")
    for key, value in constants.items():
        spec.constants[key] = value
    return spec, pybpf.load(spec)


def test_core_read_sees_this_process():
    spec, coll = _load("core_read", targ_tgid=os.getpid())
    with coll:
        with coll.attach_all():
            os.getppid()
        got = _variables(spec, coll, ".bss", "out", "direct")
    out, direct = got["out"], got["direct"]
    vmlinux = kernel_btf()
    (task_id,) = [i for i in vmlinux.ids_by_name("task_struct") if vmlinux.kind_of(i) == 4]
    task = vmlinux[task_id]
    assert out["hits"] >= 1 and direct["hits"] >= 1
    assert out["tgid"] == os.getpid() and out["ppid"] == os.getppid()
    assert out["mnt_ns_inum"] == os.stat("/proc/self/ns/mnt").st_ino
    comm = out["comm"]
    comm = comm.decode() if isinstance(comm, bytes) else comm
    with open("/proc/self/comm") as fh:
        assert comm.rstrip("\0") == fh.read().strip()[:15]
    assert out["comm3"] in (ord(comm[3]), comm[3], comm[3].encode())
    assert out["pid_size"] == 4 and out["comm_size"] == 16
    assert out["pid_offset"] == task.member("pid").bit_offset // 8
    assert out["comm3_offset"] == task.member("comm").bit_offset // 8 + 3
    assert out["task_size"] == task.size and out["task_exists"] == 1
    assert out["kernel_task_id"] == task_id
    assert out["tgid_enum"] == 1 and out["has_tgid_enum"] == 1
    assert out["kernel_ctx_enum"] == (-128) & (2 ** 64 - 1)  # PERF_CONTEXT_KERNEL
    assert out["blake_iv1"] == 0xBB67AE8584CAA73B
    assert out["in_execve"] == 0 and direct["in_execve"] == 0
    assert direct["pid"] == os.getpid()  # the main thread of a single-threaded test run
    with open("/proc/self/stat") as fh:
        prio = int(fh.read().rsplit(")", 1)[1].split()[15])
    assert direct["prio"] == prio + 100  # /proc shows prio - MAX_RT_PRIO


def test_guarded_missing_fields_still_load():
    spec, coll = _load("core_flavors", targ_tgid=os.getpid())
    with coll:
        with coll.attach_all():
            os.getppid()
        flav = _variables(spec, coll, ".bss", "flav")["flav"]
    assert flav["hits"] >= 1 and flav["used_new"] == 1
    assert flav["fake_exists"] == 0 and flav["fake_value"] == 0
    assert flav["fake_pid"] == os.getpid()
    assert flav["array_exists"] == 0 and flav["type_exists"] == 0 and flav["type_size"] == 0
    assert flav["enum_nope_exists"] == 0 and flav["enum_nope"] == 0
    assert flav["enum_sid"] == 3  # PIDTYPE_SID in the kernel, 7 in the object


def test_reachable_poison_names_the_relocation():
    spec = ObjectSpec.from_file(OBJECTS / "core_unguarded.bpf.o")
    with pytest.raises(LoadError) as err:
        pybpf.load(spec).close()
    exc = err.value
    if not isinstance(exc, VerifierError):
        exc = exc.__cause__ or exc.__context__
    assert isinstance(exc, VerifierError), err.value
    assert "invalid func unknown#195896080" in exc.log
    fresh = ObjectSpec.from_file(OBJECTS / "core_unguarded.bpf.o")
    results = relocate_spec(fresh, cache=False)["core_unguarded"]
    fn = fresh.programs["core_unguarded"]
    lines = [li for li in fresh.btf_ext.line_info[fn.section]]
    for li in lines:
        li.insn_off -= fn.insn_offset * 8  # bytes into the program, as the linker keeps them
    core_err = error_from_verifier("core_unguarded", exc.log, results, lines)
    first = str(core_err).splitlines()[0]
    assert first.startswith("program 'core_unguarded': insn #1: CO-RE relocation "
                            "<byte_off> struct task_struct___fake.no_such_field")
    assert "no field 'no_such_field'" in first
    # clang's line_info puts slot 1 (the relocated "r1 = 0") on the line of the cast
    assert "(at ./tests/core_unguarded.bpf.c:18: struct task_struct___fake *fake" in first


def _bpftool_tags(obj, pin_dir):
    subprocess.run(["bpftool", "prog", "loadall", str(obj), str(pin_dir)], check=True,
                   capture_output=True)
    tags = {}
    for pin in pin_dir.iterdir():
        info = json.loads(subprocess.run(["bpftool", "prog", "show", "pinned", str(pin), "-j"],
                                         check=True, capture_output=True, text=True).stdout)
        tags[info["name"]] = info["tag"]
    return tags


@pytest.mark.skipif(shutil.which("bpftool") is None, reason="bpftool missing")
@pytest.mark.parametrize("name", ["core_read", "core_flavors"])
def test_same_program_tag_as_libbpf(name, pin_dir):
    tags = _bpftool_tags(OBJECTS / f"{name}.bpf.o", pin_dir)
    with pybpf.load(OBJECTS / f"{name}.bpf.o") as coll:
        ours = {p.info().name: p.tag for p in coll.programs.values()}
    assert tags and ours == tags
