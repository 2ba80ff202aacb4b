"""ObjectSpec.from_file bounds its input before reading it: regular files only, a size
limit, NOBITS sections never allocated in full; each refusal one ELFError naming the file."""
from __future__ import annotations

import resource

import pytest
from malformed import CASES, shipped, with_nobits_size

from pybpf.elf import ObjectSpec
from pybpf.errors import BPFError, ELFError


@pytest.fixture
def address_space_cap():
    """A 4 GiB address-space cap, so that reading a huge input in full fails loudly."""
    old = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, old[1]))
    yield
    resource.setrlimit(resource.RLIMIT_AS, old)


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_one_line_naming_the_file(case, tmp_path, address_space_cap):
    make, word = CASES[case]
    path = make(tmp_path)
    with pytest.raises(ELFError) as info:
        ObjectSpec.from_file(path)
    text = str(info.value)
    assert isinstance(info.value, BPFError)
    assert "\n" not in text and str(path) in text and word in text, text


def test_small_nobits_still_loads_from_a_mapping():
    spec = ObjectSpec.from_file(shipped("loader_data.bpf.o"))
    assert len(spec.maps[".bss"].data) == 48 and not any(spec.maps[".bss"].data)


def test_a_larger_bss_within_the_limit_is_accepted(tmp_path):
    path = tmp_path / "big_bss.bpf.o"
    path.write_bytes(with_nobits_size(1 << 20))
    assert ObjectSpec.from_file(path).maps[".bss"].value_size == 1 << 20


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


def test_a_bss_at_the_limit_is_not_allocated_until_written(tmp_path):
    path = tmp_path / "bss_256m.bpf.o"
    path.write_bytes(with_nobits_size(256 << 20))
    before = _rss_kib()
    image = ObjectSpec.from_file(path).maps[".bss"].data
    assert len(image) == 256 << 20
    assert _rss_kib() - before < 32 << 10  # far from the 256 MiB a zero-filled copy would take
    image[1000:1004] = b"\x01\x02\x03\x04"  # a variable written before load
    assert image[996:1008] == b"\0" * 4 + b"\x01\x02\x03\x04" + b"\0" * 4


@pytest.mark.parametrize("case", ["dev_zero", "fifo", "directory", "symlink_loop", "missing"])
def test_target_btf_file_bounded_the_same_way(case, tmp_path):
    from pybpf.core import load_btf_file
    from pybpf.errors import CoreRelocationError

    make, word = CASES[case]
    path = make(tmp_path)
    with pytest.raises(CoreRelocationError) as info:
        load_btf_file(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: cannot read target BTF") and word in text
