"""The third-party corpus (tests/corpus) is what its manifest says: every object listed with
its source, commit and licence, the bytes checked in are the bytes recorded; where a copy of
the sources is beside the checkout (../shared/anchors), they are the recorded sources."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "libbpf-tools"
SOURCES = ROOT.parent / "shared" / "anchors" / "bcc-libbpf-tools"
MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_object_listed_once_with_its_bytes():
    listed = [e["object"] for e in MANIFEST["objects"]]
    assert sorted(listed) == sorted(p.name for p in CORPUS.glob("*.bpf.o"))
    for entry in MANIFEST["objects"]:
        assert entry["license"] and entry["repository"] and len(entry["commit"]) == 40
        assert sha256(CORPUS / entry["object"]) == entry["object_sha256"], entry["object"]


def test_objects_carry_btf_but_no_dwarf():
    from pybpf.elf import ObjectSpec
    for path in CORPUS.glob("*.bpf.o"):
        spec = ObjectSpec.from_file(path)
        assert spec.btf is not None and spec.btf_ext is not None, path.name
        assert b".debug_info" not in path.read_bytes(), path.name


@pytest.mark.skipif(not SOURCES.is_dir(), reason="no copy of the sources at ../shared/anchors")
def test_sources_are_the_recorded_ones():
    for entry in MANIFEST["objects"]:
        source = SOURCES / Path(entry["source"]).name
        assert sha256(source) == entry["source_sha256"], entry["source"]
        assert entry["license"] in source.read_text().splitlines()[0], entry["source"]
