"""Struct decoders kept without BTF (pybpf.decoders): an entry decodes exactly as the
codec it was made from, a later start reads it instead of parsing BTF, and an entry
holding anything but the codec's forms is refused whole."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf import decoders
from pybpf.prepared import PreparedObject

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"


def object_with_btf(name: str) -> PreparedObject:
    from elftools.elf.elffile import ELFFile
    with open(OBJECTS / f"{name}.bpf.o", "rb") as fh:
        btf = ELFFile(fh).get_section_by_name(".BTF").data()
    return PreparedObject(f"{name}.bpf.o", "GPL", {}, {}, btf, btf)


def records(size: int, n: int = 30):
    rnd = random.Random(size)
    return [bytes(rnd.getrandbits(8) for _ in range(size)) for _ in range(n)] + [bytes(size)]


def stored_structs(name: str):
    """(struct name, cold decoder, cache entry) of each struct of object ``name`` whose
    decoder is stored (not those needing a nested codec: decoded from BTF every time)."""
    from pybpf.btf.types import Struct  # here: the child below must import no BTF module
    obj = object_with_btf(name)
    btf = obj.btf
    structs = {btf[t].name for t in range(1, len(btf)) if isinstance(btf[t], Struct) and btf[t].name}
    for struct_name in sorted(structs):
        cold, entry = decoders._built(obj, struct_name)
        if entry is not None:
            yield struct_name, cold, entry


@pytest.mark.parametrize("name", ["trace_open", "trace_exec", "btf_kinds", "trace_tcp"])
def test_every_struct_decodes_as_its_codec(name):
    stored = 0
    for struct_name, cold, entry in stored_structs(name):
        stored += 1
        warm = decoders._decoded(memoryview(entry), struct_name)
        assert (warm.size, warm.spans) == (cold.size, cold.spans)
        for rec in records(cold.size):
            assert warm.decode_from(rec) == cold.decode_from(rec), struct_name
    assert stored


@pytest.mark.parametrize("name", ["trace_open", "trace_exec", "btf_kinds", "trace_tcp"])
def test_narrowed_decodes_the_other_members(name):
    """narrowed(skip): the codec's dict without the skipped members, from the warm
    (cached) and the cold decoder alike, reading no more than it says."""
    narrowed = 0
    for struct_name, cold, entry in stored_structs(name):
        if not cold.spans:
            continue
        members = sorted(cold.spans, key=lambda m: cold.spans[m][0])
        skip = {members[0], members[-1]}
        for made in (decoders._decoded(memoryview(entry), struct_name).narrowed(skip),
                     cold.narrowed(skip)):
            assert made is not None
            decode, need = made
            assert need <= cold.size
            for rec in records(cold.size, 5):
                expected = {k: v for k, v in cold.decode_from(rec).items() if k not in skip}
                assert decode(rec[:need]) == expected, struct_name
        narrowed += 1
    assert narrowed


def test_narrowed_leaves_out_a_skipped_tail():
    """trace_open's event without its process part and its path (a variable-length
    tail) reads up to the path only; a decoder without an expression has no narrowing."""
    event = decoders._built(object_with_btf("trace_open"), "event")[0]
    decode, need = event.narrowed({"proc", "path"})
    assert need == event.spans["path"][0]
    assert set(decode(bytes(need))) == set(event.spans) - {"proc", "path"}
    assert decoders.StructDecoder("x", 0, dict, {}).narrowed(()) is None


def test_members_gives_the_named_values_in_order():
    """members(names): the values the codec's dict has for ``names``, as a tuple in that
    order, reading up to the last of them only; unknown members or no expression: None."""
    event = decoders._built(object_with_btf("trace_open"), "event")[0]
    names = ["fname", "timestamp", "ret"]
    values_from, need = event.members(names)
    assert need == event.spans["path"][0]
    for rec in records(event.size, 5):
        full = event.decode_from(rec)
        assert values_from(rec[:need]) == tuple(full[n] for n in names)
    assert event.members(["ret", "nonesuch"]) is None
    assert decoders.StructDecoder("x", 0, dict, {}).members(["a"]) is None


def entry_with(**changes) -> bytes:
    _, entry = decoders._built(object_with_btf("trace_open"), "event")
    body = json.loads(entry)
    body.update(changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize("expr", [
    "__import__('os').system('true')", "v.__class__", "[x for x in v]", "{**v}",
    "_cstr(v[0]).upper()", "open('/etc/passwd')", "(lambda: 1)()", "v[0](1)", "b'x'",
    "_from_bytes(v[0], byteorder='big')", "v[0] + v[1]", "v[0",
])
def test_expressions_outside_the_codecs_forms_are_refused(expr):
    with pytest.raises((decoders._Unusable, SyntaxError)):
        decoders._decoded(memoryview(entry_with(expr=expr)), "event")


@pytest.mark.parametrize("changes", [
    {"format": 0}, {"name": "other"}, {"size": 0}, {"size": "8"}, {"fmt": "<I"},
    {"fmt": 3}, {"spans": {"proc": [1 << 20, 4]}}, {"spans": {"proc": [-1, 4]}},
    {"spans": {"proc": [0]}}, {"spans": []},
])
def test_malformed_entries_are_refused(changes):
    with pytest.raises((decoders._Unusable, ValueError)):
        decoders._decoded(memoryview(entry_with(**changes)), "event")


def test_unknown_struct_names_the_object():
    with pytest.raises(decoders.BTFError, match=r"trace_open\.bpf\.o: struct 'nope' is not"):
        decoders.struct_decoder(object_with_btf("trace_open"), "nope")


CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path(sys.argv[1])))
from test_decoders import object_with_btf, records
from pybpf.decoders import struct_decoder
d = struct_decoder(object_with_btf("trace_open"), "event")
print(json.dumps({"btf": sorted(m for m in sys.modules if m.startswith("pybpf.btf.")),
                  "events": [repr(d.decode_from(r)) for r in records(d.size)]}))
"""


def test_a_later_start_parses_no_btf(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def run():
        got = subprocess.run([sys.executable, "-c", CHILD, str(Path(__file__).parent)], env=env,
                             capture_output=True, text=True, timeout=60, check=True)
        return json.loads(got.stdout)

    cold, warm = run(), run()
    assert "pybpf.btf.spec" in cold["btf"] and "pybpf.btf.codec" in cold["btf"]
    assert warm["btf"] == [] and warm["events"] == cold["events"]
    assert len(list((tmp_path / "pybpf").glob("decoder-*.bin"))) == 1
