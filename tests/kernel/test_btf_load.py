"""The kernel accepts BTF marshalled by pybpf.btf (BPF_BTF_LOAD), fixed up and sanitized."""
from __future__ import annotations

from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from pybpf.btf import FEATURES, Spec, fixup_datasecs, sanitize
from pybpf.errors import InvalidArgumentError
from pybpf.sys import LogBuffer, btf_info, btf_load

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"


def object_btf(name: str):
    """The object's .BTF as a Spec, its section sizes and global symbol offsets."""
    with open(OBJECTS / f"{name}.bpf.o", "rb") as fh:
        elf = ELFFile(fh)
        spec = Spec.from_bytes(elf.get_section_by_name(".BTF").data(), name=name)
        sections = list(elf.iter_sections())
        sizes = {s.name: s["sh_size"] for s in sections}
        symbols: dict = {}
        for sym in elf.get_section_by_name(".symtab").iter_symbols():
            if sym["st_info"]["type"] == "STT_OBJECT" and isinstance(sym["st_shndx"], int):
                sec = sections[sym["st_shndx"]].name
                symbols.setdefault(sec, {})[sym.name] = sym["st_value"]
    return spec, sizes, symbols


@pytest.mark.parametrize("name", ["minimal", "btf_kinds"])
def test_kernel_accepts_fixed_up_btf(name):
    spec, sizes, symbols = object_btf(name)
    fixup_datasecs(spec, sizes, symbols)
    blob = spec.to_bytes()
    log = LogBuffer(1 << 16)
    with btf_load(blob, log) as fd:
        info = btf_info(fd, data=True)
        assert info.btf_size == len(blob)
        assert info.data == blob
        back = Spec.from_bytes(info.data)
        assert [back[i] for i in back.iter_ids()] == [spec[i] for i in spec.iter_ids()]


def test_kernel_refuses_unfixed_datasec():
    spec, _, _ = object_btf("minimal")
    log = LogBuffer(1 << 16)
    with pytest.raises(InvalidArgumentError):
        btf_load(spec.to_bytes(), log).close()
    assert "size" in log.text


@pytest.mark.parametrize("missing", sorted(FEATURES) + ["all"])
def test_kernel_accepts_sanitized_btf(missing):
    spec, sizes, symbols = object_btf("btf_kinds")
    fixup_datasecs(spec, sizes, symbols)
    features = frozenset() if missing == "all" else FEATURES - {missing}
    blob = sanitize(spec, features)
    log = LogBuffer(1 << 16)
    with btf_load(blob, log) as fd:
        assert btf_info(fd).btf_size == len(blob)
