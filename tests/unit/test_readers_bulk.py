"""pybpf.readers.bulk: record formats that step over headers and padding."""
from __future__ import annotations

import struct

from pybpf.readers.bulk import first_mismatch, record_struct


def test_record_struct_skips_header_and_padding():
    fields = struct.Struct("<QI")
    whole = record_struct(fields, 8, 24)
    assert whole is not None and whole.size == 24
    rec = struct.pack("<II", 12, 0) + struct.pack("<QI", 7, 9) + b"\xff" * 4
    assert list(whole.iter_unpack(rec * 3)) == [(7, 9)] * 3


def test_record_struct_refuses_records_too_small():
    assert record_struct(struct.Struct("<QQ"), 8, 16) is None


def test_record_struct_native_alignment():
    whole = record_struct(struct.Struct("QI"), 8, 24)
    assert whole is not None and whole.size == 24
    # after a 12-byte header native alignment would move the fields: no bulk format
    assert record_struct(struct.Struct("QI"), 12, 32) is None


def test_first_mismatch():
    assert first_mismatch([5, 5, 5], 5) == 3
    assert first_mismatch([5, 5, 4, 5], 5) == 2
    assert first_mismatch([], 5) == 0
