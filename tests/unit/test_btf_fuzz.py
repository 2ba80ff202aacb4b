"""Bounded fuzzing: mutated real BTF and .BTF.ext blobs parse or raise BTFError, nothing else."""
from __future__ import annotations

from pathlib import Path

from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import Builder, Kind, Spec
from pybpf.btf.codec import Codec
from pybpf.btf.ext import parse_ext
from pybpf.errors import BTFError

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"


def _sections(name: str):
    with open(OBJECTS / f"{name}.bpf.o", "rb") as fh:
        elf = ELFFile(fh)
        return elf.get_section_by_name(".BTF").data(), elf.get_section_by_name(".BTF.ext").data()


BLOBS = [_sections("minimal"), _sections("btf_kinds")]


def exercise(spec: Spec) -> None:
    """Everything a caller may do with a parsed spec; only BTFError may come out."""
    for i in spec.iter_ids():
        for query in (spec.__getitem__, spec.resolve, spec.size_of, spec.name_of,
                      spec.kind_of):
            try:
                query(i)
            except BTFError:
                pass
        try:
            name = spec.name_of(i)
            assert i in spec.ids_by_name(name) or not name
            if spec.kind_of(i) in (Kind.STRUCT, Kind.UNION):
                Codec.for_type(spec, i)
        except BTFError:
            pass
    again = Spec.from_bytes(spec.to_bytes())
    assert again.type_count == spec.type_count
    b = Builder()
    try:
        for i in spec.iter_ids():
            b.add(spec[i])
        Spec.from_bytes(b.to_bytes())
    except BTFError:
        pass


def mutate(blob: bytes, data) -> bytes:
    out = bytearray(blob)
    edits = data.draw(st.lists(st.tuples(st.integers(0, len(out) - 1), st.integers(0, 255)),
                               min_size=1, max_size=8))
    for pos, byte in edits:
        out[pos] = byte
    if data.draw(st.booleans()):
        out = out[:data.draw(st.integers(0, len(out)))]
    return bytes(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_btf(data):
    btf, _ = data.draw(st.sampled_from(BLOBS))
    blob = mutate(btf, data)
    try:
        spec = Spec.from_bytes(blob, name="fuzz")
    except BTFError:
        return
    exercise(spec)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_btf_ext(data):
    btf, ext = data.draw(st.sampled_from(BLOBS))
    spec = Spec.from_bytes(btf)
    blob = mutate(ext, data)
    try:
        parse_ext(blob, spec)
    except BTFError:
        pass
