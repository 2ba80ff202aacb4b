"""pybpf load against bpftool prog loadall (libbpf): same programs, same maps.

Each corpus object is loaded twice into unique pin directories, once by
`bpftool prog loadall OBJ DIR pinmaps DIR` and once by `pybpf load OBJ DIR
--pinmaps DIR`. Every pinned program's translated instructions and tag and
every pinned map's description must match once ids, names of ids and
addresses are normalised. Objects the kernel refuses are refused by both.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf.elf import ObjectSpec
from pybpf.errors import BPFError

ROOT = Path(__file__).resolve().parents[2]
OBJECTS = ROOT / "bpf" / "objects"
# SEC() names newer than Debian's bpftool (libbpf 1.1): it refuses objects that use them.
NEWER_THAN_LIBBPF_1_1 = ("tcx/", "tc/ingress", "tc/egress", "uprobe.multi", "uretprobe.multi",
                         "kprobe.session", "netkit/")
# Map sections libbpf 1.1 skips ("unrecognized data section"): struct_ops through a link.
NEWER_MAP_SECTIONS = (".struct_ops.link",)


def _comparable(path: Path) -> bool:
    """Whether bpftool can be the reference for this object. Not for objects with
    LIBBPF_PIN_BY_NAME maps (bpftool would pin them in /sys/fs/bpf itself, shared with every
    other run; loader_pinned is tested in test_collection), nor for SEC() names libbpf 1.1
    does not know (links_umulti) or map sections it skips (struct_ops_link), nor for
    SEC("maps") (loader_legacy, tested below)."""
    try:
        spec = ObjectSpec.from_file(path)
    except BPFError:
        return True  # both must refuse it
    if any(m.pinning for m in spec.maps.values()) or any(
            m.section == "maps" for m in spec.maps.values()):
        return False
    if any(m.section in NEWER_MAP_SECTIONS for m in spec.maps.values()):
        return False
    return not any(p.section.lstrip("?").startswith(NEWER_THAN_LIBBPF_1_1)
                   for p in spec.programs.values())


# Every checked-in object: the loader corpus and everyone else's (CO-RE, gadgets, links), and
# third-party objects nobody here wrote (tests/corpus: sources and licences in its MANIFEST.json).
CORPUS = ROOT / "tests" / "corpus"
OBJECT_PATHS = {
    **{p.name[:-len(".bpf.o")]: p for p in OBJECTS.glob("*.bpf.o")},
    **{f"{p.parent.name}/{p.name[:-len('.bpf.o')]}": p for p in CORPUS.glob("*/*.bpf.o")},
}
OBJECT_NAMES = sorted(name for name, path in OBJECT_PATHS.items() if _comparable(path))
# The corpus is meant to cover both outcomes; these the kernel must refuse.
REFUSED = {"loader_reject", "loader_ksym_typed", "loader_weak_unguarded"}
# Where pybpf follows a newer libbpf than bpftool 7.1's 1.1 on purpose: a call to a missing
# __weak kfunc is a poisoned helper call (libbpf >= 1.2), not libbpf 1.1's kfunc call #0. The
# verifier drops both as dead code, so the translated code agrees; the tag (hashed before
# verification) does not.
TAG_DIFFERS = {"loader_weak_kfunc"}

pytestmark = pytest.mark.skipif(shutil.which("bpftool") is None, reason="bpftool missing")


def bpftool(*args: str) -> str:
    out = subprocess.run(["bpftool", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"bpftool {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def load_bpftool(obj: Path, progs: Path, maps: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bpftool", "prog", "loadall", str(obj), str(progs), "pinmaps", str(maps)],
                          capture_output=True, text=True)


def load_pybpf(obj: Path, progs: Path, maps: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pybpf", "load", str(obj), str(progs),
                           "--pinmaps", str(maps)], capture_output=True, text=True, cwd=ROOT)


def map_name(map_id: int, cache: dict) -> str:
    """The name of one map by id (asked one by one: listing every map races with other users)."""
    if map_id not in cache:
        cache[map_id] = json.loads(bpftool("map", "show", "id", str(map_id), "-j"))["name"]
    return cache[map_id]


def normalise_xlated(text: str, names: dict) -> str:
    text = re.sub(r"map\[id:(\d+)\]", lambda m: f"map[{map_name(int(m.group(1)), names)}]", text)
    text = re.sub(r"0x[0-9a-f]{12,16}", "ADDR", text)          # kernel addresses
    text = re.sub(r"#bpf_prog_[0-9a-f]+_", "#bpf_prog_TAG_", text)  # subprog symbols
    return text


def program_view(pin: Path, names: dict) -> dict:
    """What bpftool shows of a program, ids replaced by names: the maps it holds (those it
    references and those bound to it, as libbpf binds .rodata), bpf_metadata_* included."""
    info = json.loads(bpftool("prog", "show", "pinned", str(pin), "-j"))
    xlated = bpftool("prog", "dump", "xlated", "pinned", str(pin))
    return {"type": info["type"], "name": info["name"], "tag": info["tag"],
            "gpl": info.get("gpl_compatible"), "has_btf": "btf_id" in info,
            "maps": sorted(map_name(i, names) for i in info.get("map_ids", [])),
            "metadata": info.get("metadata"),
            "xlated": normalise_xlated(xlated, names)}


def map_view(pin: Path) -> dict:
    info = json.loads(bpftool("map", "show", "pinned", str(pin), "-j"))
    for key in ("id", "btf_id", "pinned", "owner_prog_type", "owner_jited", "memlock", "pids"):
        info.pop(key, None)
    if info["type"] == "array":  # plain arrays: global data, .kconfig values, results
        info["contents"] = json.loads(bpftool("map", "dump", "pinned", str(pin), "-j"))
    return info


@pytest.fixture
def dirs(pin_dir):
    return {who: (pin_dir / f"{who}_progs", pin_dir / f"{who}_maps") for who in ("b", "p")}


def pinned(path: Path) -> list:
    return sorted(os.listdir(path)) if path.exists() else []


@pytest.mark.parametrize("name", OBJECT_NAMES)
def test_same_as_bpftool_loadall(name, dirs):
    obj = OBJECT_PATHS[name]
    got_b = load_bpftool(obj, *dirs["b"])
    got_p = load_pybpf(obj, *dirs["p"])
    (b_progs, b_maps), (p_progs, p_maps) = dirs["b"], dirs["p"]
    if got_b.returncode != 0 or name in REFUSED:
        assert got_b.returncode != 0, f"bpftool loaded {name}, expected a refusal"
        assert got_p.returncode != 0, f"pybpf loaded {name}, which libbpf refuses"
        assert len(got_p.stderr.strip().splitlines()) == 1, got_p.stderr
        assert pinned(p_progs) == [] and pinned(p_maps) == []
        return
    assert got_p.returncode == 0, got_p.stderr
    names: dict = {}
    assert pinned(p_progs) == pinned(b_progs)
    assert pinned(p_maps) == pinned(b_maps)
    for prog in pinned(b_progs):
        got, want = program_view(p_progs / prog, names), program_view(b_progs / prog, names)
        if name in TAG_DIFFERS:
            del got["tag"], want["tag"]
        assert got == want, prog
    for m in pinned(b_maps):
        assert map_view(p_maps / m) == map_view(b_maps / m), m


def test_legacy_maps_only_pybpf(dirs):
    """libbpf >= 1.0 dropped SEC("maps"); pybpf still loads it (a documented difference)."""
    obj = OBJECTS / "loader_legacy.bpf.o"
    assert load_bpftool(obj, *dirs["b"]).returncode != 0
    got_p = load_pybpf(obj, *dirs["p"])
    assert got_p.returncode == 0, got_p.stderr
    progs, maps = dirs["p"]
    assert [p.name for p in progs.iterdir()] == ["legacy_user"]
    assert sorted(p.name for p in maps.iterdir()) == ["legacy_counts", "legacy_hash"]
    assert map_view(maps / "legacy_counts")["type"] == "array"
