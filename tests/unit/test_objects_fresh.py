"""The checked-in BPF objects are exactly the build of their sources.

bpf/objects/*.o ship in the wheel, so a stale object would be a silent bug.
Rebuilding with the same clang is byte-for-byte reproducible (the Makefile
maps the build directory away), so the check is a plain comparison, for
every architecture's build (NAME.x86.bpf.o, NAME.arm64.bpf.o) as for the
objects built once (NAME.bpf.o). Needs clang-19 (a development tool):
skipped where it is absent.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BPF = Path(__file__).resolve().parents[2] / "bpf"
SOURCES = sorted((BPF / "tests").glob("*.bpf.c")) + sorted((BPF / "gadgets").glob("*.bpf.c"))
OBJECTS = sorted((BPF / "objects").glob("*.o"))
ARCHES = ("x86", "arm64")


def _source_name(obj: str) -> str:
    """foo.bpf.o and foo.ARCH.bpf.o -> foo.bpf.c"""
    stem = obj[: -len(".bpf.o")]
    base, _, arch = stem.rpartition(".")
    return (base if base and arch in ARCHES else stem) + ".bpf.c"


def test_every_object_has_a_source():
    sources = {s.name for s in SOURCES}
    orphans = [o.name for o in OBJECTS if _source_name(o.name) not in sources]
    assert not orphans, f"objects without a source: {orphans}"


def test_every_source_has_one_build_or_one_per_arch():
    for src in SOURCES:
        stem = src.name[: -len(".bpf.c")]
        single = (BPF / "objects" / f"{stem}.bpf.o").exists()
        per_arch = [(BPF / "objects" / f"{stem}.{a}.bpf.o").exists() for a in ARCHES]
        assert single != any(per_arch) and (single or all(per_arch)), \
            f"{src.name}: want {stem}.bpf.o or one {stem}.ARCH.bpf.o per arch in {ARCHES}"


@pytest.mark.skipif(shutil.which("clang-19") is None or shutil.which("llvm-strip-19") is None,
                    reason="clang-19 / llvm-strip-19 not installed")
def test_objects_are_the_build_of_their_sources(tmp_path):
    subprocess.run(["make", "-s", "-C", str(BPF), f"OUT={tmp_path}", "all"], check=True)
    built = {p.name: p.read_bytes() for p in tmp_path.glob("*.o")}
    shipped = {p.name: p.read_bytes() for p in OBJECTS}
    stale = sorted(n for n in built if shipped.get(n) != built[n])
    extra = sorted(set(shipped) - set(built))
    assert not stale, f"run `make -C bpf`: stale or missing objects {stale}"
    assert not extra, f"objects a build no longer makes (git rm them): {extra}"


def test_shipped_objects_keep_btf_but_no_dwarf():
    from elftools.elf.elffile import ELFFile
    for path in OBJECTS:
        with open(path, "rb") as fh:
            names = {s.name for s in ELFFile(fh).iter_sections()}
        assert ".BTF" in names and ".BTF.ext" in names, f"{path.name}: BTF stripped"
        assert not [n for n in names if n.startswith(".debug_")], f"{path.name}: DWARF left in"
