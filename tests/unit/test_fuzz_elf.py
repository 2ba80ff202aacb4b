"""Fuzz ObjectSpec.from_bytes with mutated real objects: it either parses or
raises ELFError/BTFError, never anything else (bounded, deterministic run)."""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.elf import ObjectSpec
from pybpf.errors import BTFError, ELFError

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"
SEEDS = [(OBJECTS / f"{n}.bpf.o").read_bytes()
         for n in ("minimal", "loader_calls", "loader_maps", "loader_externs", "loader_legacy")]


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["byte", "zero", "ff", "word"]))
        if kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "zero":
            data[pos] = 0
        elif kind == "ff":
            data[pos] = 0xFF
        else:
            data[pos:pos + 4] = draw(st.binary(min_size=4, max_size=4))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


def parse_or_refuse(data: bytes) -> None:
    try:
        ObjectSpec.from_bytes(data, "fuzz.o")
    except (ELFError, BTFError) as exc:
        assert str(exc).startswith("fuzz.o") or "fuzz.o" in str(exc)


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_objects(data):
    parse_or_refuse(data)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.binary(max_size=256))
def test_random_bytes(data):
    parse_or_refuse(data)
