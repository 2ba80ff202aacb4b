"""Legacy map definitions: ``struct bpf_map_def`` in an object's ``maps`` section.

Objects from before BTF-defined maps describe each map as five u32s (type,
key_size, value_size, max_entries, map_flags) at its symbol's offset. As
libbpf does, a shorter definition reads as zero-padded and a longer one is
accepted only if every byte past the five fields is zero. Only objects with
such a section import this module (pybpf.elf.reader defers it): construct's
import costs about 30 ms, more than reading a whole gadget object.
"""
from __future__ import annotations

from construct import Construct, Int32ul, Struct

from pybpf.elf.mapdefs import check_map_def
from pybpf.elf.specs import MapSpec
from pybpf.errors import ELFError

BPF_MAP_DEF: Construct = Struct(
    "type" / Int32ul,
    "key_size" / Int32ul,
    "value_size" / Int32ul,
    "max_entries" / Int32ul,
    "map_flags" / Int32ul,
)
BPF_MAP_DEF_SIZE = BPF_MAP_DEF.sizeof()


def parse_legacy_map(name: str, raw: bytes, where: str) -> MapSpec:
    """Decode one ``struct bpf_map_def`` (fields past its 20 bytes must be 0)."""
    where = f"{where}: map '{name}'"
    if any(raw[BPF_MAP_DEF_SIZE:]):
        raise ELFError(f"{where}: unknown non-zero fields past struct bpf_map_def")
    d = BPF_MAP_DEF.parse(raw[:BPF_MAP_DEF_SIZE].ljust(BPF_MAP_DEF_SIZE, b"\0"))
    spec = MapSpec(name=name, type=d.type, key_size=d.key_size, value_size=d.value_size,
                   max_entries=d.max_entries, flags=d.map_flags, section="maps")
    check_map_def(spec, where)
    return spec
