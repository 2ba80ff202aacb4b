"""Fuzz ObjectSpec.from_bytes with mutated real objects: it either parses or
raises ELFError/BTFError naming the file, never anything else (bounded,
deterministic runs).

Most mutations land in the parts the parser reads (ELF and section headers,
symbols, relocations, code, maps, BTF); DWARF sections are skipped by the
parser, so mutating them would test little.
"""
from __future__ import annotations

import io
from pathlib import Path

from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.elf import ObjectSpec
from pybpf.errors import BTFError, ELFError

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"
NAMES = ("minimal", "loader_calls", "loader_maps", "loader_externs", "loader_legacy",
         "loader_data")


def _read_ranges(data: bytes) -> list:
    """Byte ranges the parser reads: ELF header, section table, non-DWARF sections."""
    elf = ELFFile(io.BytesIO(data))
    ranges = [(0, 64), (elf["e_shoff"], elf["e_shoff"] + elf["e_shnum"] * elf["e_shentsize"])]
    for sec in elf.iter_sections():
        if sec["sh_type"] != "SHT_NOBITS" and sec["sh_size"] and ".debug" not in sec.name:
            ranges.append((sec["sh_offset"], sec["sh_offset"] + sec["sh_size"]))
    return ranges


SEEDS = [(data, _read_ranges(data))
         for data in ((OBJECTS / f"{n}.bpf.o").read_bytes() for n in NAMES)]
SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated(draw, focused: bool):
    data, ranges = draw(st.sampled_from(SEEDS))
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        if focused:
            lo, hi = draw(st.sampled_from(ranges))
            pos = draw(st.integers(lo, min(hi, len(data)) - 1))
        else:
            pos = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["byte", "bit", "zero", "ff", "word"]))
        if kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "bit":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "zero":
            data[pos] = 0
        elif kind == "ff":
            data[pos] = 0xFF
        else:
            data[pos:pos + 4] = draw(st.binary(min_size=4, max_size=4))
    if draw(st.integers(0, 9)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


def parse_or_refuse(data: bytes) -> None:
    try:
        ObjectSpec.from_bytes(data, "fuzz.o")
    except (ELFError, BTFError) as exc:
        assert "fuzz.o" in str(exc).splitlines()[0]


@settings(max_examples=500, **SETTINGS)
@given(mutated(focused=True))
def test_mutations_where_the_parser_reads(data):
    parse_or_refuse(data)


@settings(max_examples=150, **SETTINGS)
@given(mutated(focused=False))
def test_mutations_anywhere(data):
    parse_or_refuse(data)


@settings(max_examples=100, **SETTINGS)
@given(st.binary(max_size=256))
def test_random_bytes(data):
    parse_or_refuse(data)
