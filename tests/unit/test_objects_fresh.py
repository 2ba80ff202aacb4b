"""The checked-in BPF objects are exactly the build of their sources.

bpf/objects/*.o ship in the wheel, so a stale object would be a silent bug.
Rebuilding with the same clang is byte-for-byte reproducible (the Makefile
maps the build directory away), so the check is a plain comparison. Needs
clang-19 (a development tool): skipped where it is absent.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BPF = Path(__file__).resolve().parents[2] / "bpf"
SOURCES = sorted((BPF / "tests").glob("*.bpf.c")) + sorted((BPF / "gadgets").glob("*.bpf.c"))
OBJECTS = sorted((BPF / "objects").glob("*.o"))


def test_every_object_has_a_source():
    source_names = {s.name[: -len(".c")] + ".o" for s in SOURCES}
    orphans = [o.name for o in OBJECTS if o.name not in source_names]
    assert not orphans, f"objects without a source: {orphans}"


@pytest.mark.skipif(shutil.which("clang-19") is None, reason="clang-19 not installed")
def test_objects_are_the_build_of_their_sources(tmp_path):
    subprocess.run(["make", "-s", "-C", str(BPF), f"OUT={tmp_path}", "all"], check=True)
    stale = []
    for src in SOURCES:
        name = src.name[: -len(".c")] + ".o"
        built = (tmp_path / name).read_bytes()
        shipped = BPF / "objects" / name
        if not shipped.exists() or shipped.read_bytes() != built:
            stale.append(name)
    assert not stale, f"run `make -C bpf`: stale or missing objects {stale}"
