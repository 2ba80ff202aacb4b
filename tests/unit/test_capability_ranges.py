"""trace_capabilities' non-audit caller ranges: read from a kallsyms listing, kept
sealed per boot in the cache directory (a second read opens no listing; a
tampered or foreign entry is ignored)."""
import json

import pytest

from pybpf import cachedir
from pybpf_gadgets import trace_capabilities as tc

NAMES = ("ns_capable_noaudit", "cap_vm_enough_memory")
LISTING = """\
ffffffff81000000 T _stext
ffffffff81100000 T ns_capable_noaudit
ffffffff81100080 t ns_capable_common
ffffffff81200000 T cap_vm_enough_memory
ffffffff81200040 T cap_mmap_addr
ffffffffc0000000 t ns_capable_noaudit\t[some_module]
"""
RANGES = [(0xffffffff81100000, 0xffffffff81100080), (0xffffffff81200000, 0xffffffff81200040)]


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv(cachedir.DISABLE_ENV, raising=False)
    return home / "pybpf"


def _entry(cache):
    return cache / f"noaudit-ranges-{cachedir.boot_id()}.json"


def test_ranges_from_listing(tmp_path):
    listing = tmp_path / "kallsyms"
    listing.write_text(LISTING)
    assert tc.function_ranges(NAMES, str(listing)) == RANGES


def test_second_read_comes_from_the_cache(tmp_path, cache_home):
    listing = tmp_path / "kallsyms"
    listing.write_text(LISTING)
    assert tc.cached_function_ranges(NAMES, str(listing)) == RANGES
    listing.unlink()  # a read of the listing now finds nothing
    assert tc.cached_function_ranges(NAMES, str(listing)) == RANGES


def test_tampered_entry_is_ignored_and_rebuilt(tmp_path, cache_home):
    listing = tmp_path / "kallsyms"
    listing.write_text(LISTING)
    tc.cached_function_ranges(NAMES, str(listing))
    entry = _entry(cache_home)
    raw = entry.read_bytes()
    forged = raw.replace(b"18446744071579893760", b"18446744071579893761")
    assert forged != raw
    entry.write_bytes(forged)
    assert tc.cached_function_ranges(NAMES, str(listing)) == RANGES
    assert entry.read_bytes() == raw  # rebuilt from the listing


def test_entry_for_other_names_or_listing_is_not_used(tmp_path, cache_home):
    listing = tmp_path / "kallsyms"
    listing.write_text(LISTING)
    tc.cached_function_ranges(NAMES, str(listing))
    other = tmp_path / "other"
    other.write_text(LISTING.replace("81100000 T ns", "81100010 T ns"))
    assert tc.cached_function_ranges(NAMES, str(other))[0][0] == 0xffffffff81100010
    assert tc.cached_function_ranges(NAMES[1:], str(other)) == RANGES[1:]


def test_no_addresses_are_not_kept(tmp_path, cache_home):
    listing = tmp_path / "kallsyms"  # what a user without CAP_SYSLOG reads
    listing.write_text("".join("0" * 16 + line[16:] for line in LISTING.splitlines(True)))
    assert tc.cached_function_ranges(NAMES, str(listing)) == []
    assert not _entry(cache_home).exists()


def test_entry_body_names_what_it_is_for(tmp_path, cache_home):
    listing = tmp_path / "kallsyms"
    listing.write_text(LISTING)
    tc.cached_function_ranges(NAMES, str(listing))
    body = _entry(cache_home).read_bytes()[len(tc.RANGES_MAGIC) + cachedir.MAC_LEN:]
    doc = json.loads(body)
    assert doc["boot"] == cachedir.boot_id() and doc["path"] == str(listing)
    assert doc["names"] == list(NAMES)
