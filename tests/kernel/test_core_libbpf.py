"""Differential: pybpf's CO-RE relocation against libbpf's, for the same objects.

libbpf (the system's, through a small C harness built with gcc -lbpf) logs
every instruction it patches or poisons at debug level; pybpf relocates the
same object and must produce the same value at every one of those
instructions, and poison the same ones. Run against the running kernel,
against Debian 6.1's BTF (the minimal blob embedded in test_core_foreign.py)
and against any full BTF files listed in $PYBPF_FOREIGN_BTF (':'-separated;
raw BTF or an ELF vmlinux).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from pybpf.asm import ld_imm64_value
from pybpf.core import POISON_IMM, relocate_spec
from pybpf.elf import ObjectSpec

ROOT = Path(__file__).resolve().parent.parent.parent
OBJECTS = ROOT / "bpf" / "objects"
MASK64 = (1 << 64) - 1
SIZES = {0x18: 8, 0x00: 4, 0x08: 2, 0x10: 1}




def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


bench = _load("bench_core", ROOT / "bench" / "bench_core.py")


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    exe = bench.build_harness(str(tmp_path_factory.mktemp("libbpf")))
    if exe is None:
        pytest.skip("gcc or libbpf-dev missing: cannot build the libbpf harness")
    return exe


def _objects_with_relos():
    out = []
    for path in sorted(OBJECTS.glob("*.bpf.o")):
        try:
            obj = ObjectSpec.from_file(path)
        except Exception:  # another owner's object mid-rebuild: not ours to judge
            continue
        if obj.btf_ext is not None and any(obj.btf_ext.core_relos.values()):
            out.append(path.name)
    return out


def compare(harness, name, btf=None):
    """Relocate ``name`` with both; return (number compared, list of differences)."""
    path = str(OBJECTS / name)
    run = bench.run_libbpf(harness, path, btf)
    assert run.relos, f"libbpf reported no relocation for {name}:\n{run.log[-2000:]}"
    obj = ObjectSpec.from_file(path)
    results = relocate_spec(obj, btf, cache=False)
    fns = {fn.name: fn for fn in obj.functions.values()}
    ours = {(p, r.insn): r for p, rs in results.items() for r in rs}
    diffs = []
    seen = set()
    for lr in run.relos:
        insns = fns[lr.program].instructions
        insn = insns[lr.insn]
        key = (lr.program, lr.insn)
        if lr.what == "poison":
            if not (insn.code == 0x85 and insn.imm == POISON_IMM):
                diffs.append(f"{key}: libbpf poisoned, pybpf has {insn}")
            seen.add(key)
            continue
        seen.add(key)
        if lr.what == "imm":
            got = insn.imm & 0xFFFFFFFF
            want = lr.new & 0xFFFFFFFF
        elif lr.what == "off":
            got, want = insn.off, lr.new
        elif lr.what == "imm64":
            got, want = ld_imm64_value(insns, lr.insn), lr.new & MASK64
        else:  # mem_sz
            got, want = SIZES[insn.code & 0x18], lr.new
        if got != want:
            diffs.append(f"{key} {lr.what}: libbpf {want}, pybpf {got} ({ours.get(key)})")
    for key, res in ours.items():
        if key not in seen:
            diffs.append(f"{key}: pybpf relocated ({res.what} -> {res.patch}), libbpf did not")
    return len(run.relos), diffs


@pytest.mark.parametrize("name", _objects_with_relos())
def test_same_as_libbpf_on_this_kernel(harness, name):
    count, diffs = compare(harness, name)
    assert count > 0
    assert not diffs, "\n".join(diffs)


def test_corpus_is_covered(harness):
    names = _objects_with_relos()
    for want in ("core_read.bpf.o", "core_flavors.bpf.o", "core_unguarded.bpf.o"):
        assert want in names


foreign = _load("test_core_foreign_data", ROOT / "tests" / "unit" / "test_core_foreign.py")


def _foreign_btfs():
    """The embedded Debian 6.1 minimal BTF, plus full BTF files named in $PYBPF_FOREIGN_BTF."""
    extra = [p for p in os.environ.get("PYBPF_FOREIGN_BTF", "").split(os.pathsep) if p]
    return ["debian-6.1-min"] + extra


_CORE_OBJECTS = ["core_read.bpf.o", "core_flavors.bpf.o", "core_unguarded.bpf.o"]


def _foreign_cases():
    """Every core_* object against the embedded Debian 6.1 minimal BTF, and every object with
    CO-RE relocations against the full BTF files named in $PYBPF_FOREIGN_BTF."""
    cases = [(name, "debian-6.1-min") for name in _CORE_OBJECTS]
    for btf in _foreign_btfs()[1:]:
        cases += [(name, btf) for name in _objects_with_relos()]
    return cases


@pytest.mark.parametrize("name,btf", _foreign_cases())
def test_same_as_libbpf_on_foreign_btf(harness, name, btf, tmp_path):
    if btf == "debian-6.1-min":
        path = tmp_path / "min.btf"
        path.write_bytes(foreign.lzma.decompress(foreign.base64.b64decode(
            "".join(foreign.DEBIAN_61_MIN_BTF))))
        btf = str(path)
    count, diffs = compare(harness, name, btf)
    assert count > 0
    assert not diffs, "\n".join(diffs)
