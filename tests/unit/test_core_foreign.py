"""Offline CO-RE: checked-in objects relocated against another kernel's BTF.

The target is Debian's linux-image-6.1.0-50-cloud-amd64 (6.1.176-1) BTF,
reduced with ``bpftool gen min_core_btf`` to the types the core_* objects
reach (921 bytes, embedded below xz+base64). The expected values are what
libbpf 1.1 patched against the same blob (its debug log); the kernel test
test_core_libbpf.py re-checks them against libbpf live.
"""
from __future__ import annotations

import base64
import lzma
from pathlib import Path

import pytest

from pybpf.asm import ld_imm64_value
from pybpf.core import POISON_IMM, explain, relocate_spec
from pybpf.elf import ObjectSpec

OBJECTS = Path(__file__).resolve().parent.parent.parent / "bpf" / "objects"

DEBIAN_61_MIN_BTF = (
    "/Td6WFoAAATm1rRGAgAhARwAAAAQz1jM4AOYAbJdAE+6vCAAzlEI5EUYEdicdo66xiemhMdjyCex92NYY40yxG+iAJ00"
    "YJN2HeXnIXQlcVfYT/r2rWBzhTWQ8NN7iWs7Z14T5eDWBJqbTqMotmTJrEzNluB+HEIHWNymWDp4A+DrYjKPO34aUmX1"
    "ZdROdfwZgufTsFUxBnJ3Z7k6s8mcMZ6Pt7TZMDh0edpmaddk2P17hcWWkj3fytgEZmayyrZxPRrztF1HZkdHwn0WcFA2"
    "Wh6WM9GON7PrUnh+EXBM2XvQdeGzRcBYfO124d+p1S0vyNUJRHeeittqF+1jvi2Wy8aJ7s7He0+PsBXjjfpSTEU6xE/V"
    "LSYACorZPQn1rskCcKxim0VrFSYjWIUjD7R4lG8xLE6V5WCOxYdLBSsW1uJStu8h642bBsnQ9ny++Er0A9Ec1lcxgCDj"
    "6nc3Vk4g8uXsKpG04Xai8NJ0gQkuMWs3CwqYzADn2TX5zPIsVcwYI5GuPw9ub59I5SOpasc2iAHUUNzcfYwGu9vbCpMW"
    "7MU4g8HSyDatdBl/abfACGyBIr1RF3RHAy/Q7DEEAcq8zn1Oqi4vHWC3FWAtLKB6V8cAAAAAuP6MWW+u6i0AAc4DmQcA"
    "AGJpEGqxxGf7AgAAAAAEWVo="
)

# (program, insn, what, value) as libbpf patched them against DEBIAN_61_MIN_BTF
EXPECTED = {
    "core_read.bpf.o": [
        ("core_read", 13, "imm", 2420), ("core_read", 22, "imm", 2432),
        ("core_read", 37, "imm", 3064), ("core_read", 45, "imm", 24),
        ("core_read", 51, "imm", 16), ("core_read", 60, "imm", 2976),
        ("core_read", 68, "imm", 2979), ("core_read", 76, "imm", 4),
        ("core_read", 78, "imm", 2416), ("core_read", 80, "imm", 1),
        ("core_read", 82, "imm", 16), ("core_read", 85, "imm", 9728),
        ("core_read", 87, "imm", 1), ("core_read", 89, "imm", 0),
        ("core_read", 91, "imm64", 5), ("core_read", 94, "imm64", 7),
        ("core_read", 97, "imm64", 1), ("core_read", 100, "imm64", 1),
        ("core_read", 103, "imm64", 18446744073709551488),
        ("core_read", 106, "poison", 0), ("core_read", 107, "poison", 0),
        ("core_read", 111, "imm", 2344), ("core_read", 116, "imm", 4),
        ("core_read", 119, "imm", 61), ("core_read", 120, "imm", 0),
        ("core_read", 122, "imm", 63), ("core_read", 124, "imm", 63),
        ("core_read", 130, "imm", 2340), ("core_read", 134, "imm", 4),
        ("core_read", 138, "imm", 63), ("core_read", 139, "imm", 0),
        ("core_read", 141, "imm", 63), ("core_read", 143, "imm", 63),
        ("core_direct", 1, "off", 2420), ("core_direct", 11, "off", 2416),
        ("core_direct", 13, "off", 108), ("core_direct", 17, "imm", 2344),
        ("core_direct", 20, "imm", 4), ("core_direct", 35, "imm", 61),
        ("core_direct", 36, "imm", 0), ("core_direct", 38, "imm", 63),
        ("core_direct", 40, "imm", 63), ("core_direct", 44, "imm", 2344),
        ("core_direct", 46, "imm", 4), ("core_direct", 61, "imm", 55),
        ("core_direct", 62, "imm", 0), ("core_direct", 64, "imm", 63),
        ("core_direct", 66, "imm", 63),
    ],
    "core_flavors.bpf.o": [
        ("core_flavors", 13, "imm", 1), ("core_flavors", 17, "imm", 24),
        ("core_flavors", 26, "poison", 0), ("core_flavors", 37, "imm", 0),
        ("core_flavors", 40, "poison", 0), ("core_flavors", 49, "imm", 2416),
        ("core_flavors", 58, "imm", 0), ("core_flavors", 60, "imm", 0),
        ("core_flavors", 62, "imm", 0), ("core_flavors", 64, "imm64", 0),
        ("core_flavors", 70, "poison", 0), ("core_flavors", 71, "poison", 0),
        ("core_flavors", 75, "imm64", 3),
    ],
    "core_unguarded.bpf.o": [("core_unguarded", 1, "poison", 0)],
}


@pytest.fixture(scope="module")
def debian_btf(tmp_path_factory):
    path = tmp_path_factory.mktemp("btf") / "debian-6.1.0-50-cloud-min.btf"
    path.write_bytes(lzma.decompress(base64.b64decode("".join(DEBIAN_61_MIN_BTF))))
    return str(path)


def _value(insns, index, what):
    insn = insns[index]
    if what == "poison":
        return "poison" if (insn.code, insn.imm) == (0x85, POISON_IMM) else insn
    if what == "off":
        return insn.off
    if what == "imm64":
        return ld_imm64_value(insns, index)
    return insn.imm & 0xFFFFFFFF


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_relocate_against_debian_61(debian_btf, name):
    obj = ObjectSpec.from_file(OBJECTS / name)
    results = relocate_spec(obj, debian_btf, cache=False)
    fns = {fn.name: fn.instructions for fn in obj.functions.values()}
    for program, insn, what, value in EXPECTED[name]:
        want = "poison" if what == "poison" else value
        assert _value(fns[program], insn, what) == want, (program, insn, what)
    relocated = {(p, r.insn) for p, rs in results.items() for r in rs}
    expected = {(p, i) for p, i, _, _ in EXPECTED[name]}
    assert relocated <= expected


def test_explain_against_debian_61(debian_btf):
    rows = {(r.program, r.insn): r for r in explain(OBJECTS / "core_read.bpf.o", btf=debian_btf)}
    tgid = rows[("core_read", 13)]
    assert tgid.local == "struct task_struct.tgid"
    assert (tgid.orig_val, tgid.new_val) == (1268, 2420)
    assert tgid.candidates[0].source == "debian-6.1.0-50-cloud-min.btf"
    iv = rows[("core_read", 106)]
    assert iv.poison and "no enum64 named 'blake2b_iv'" in iv.reason
    assert rows[("core_read", 89)].new_val == 0  # task_struct does not match vmlinux.h's
