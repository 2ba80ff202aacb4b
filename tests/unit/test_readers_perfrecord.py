"""pybpf.readers.perfrecord: perf ring records read from bytes as the kernel lays them out."""
from __future__ import annotations

import struct

from pybpf.readers.perfrecord import PERF_EVENT_HEADER, PERF_RECORD
from pybpf.sys.perf import PERF_RECORD_LOST, PERF_RECORD_SAMPLE


def test_sample_record_gives_its_raw_bytes():
    raw = bytes(range(60))
    rec = struct.pack("=IHHI", PERF_RECORD_SAMPLE, 0, 8 + 4 + 64, len(raw)) + raw + bytes(4)
    parsed = PERF_RECORD.parse(rec)
    assert (parsed.header.type, parsed.header.size) == (PERF_RECORD_SAMPLE, 76)
    assert parsed.body.data == raw  # the padding after the raw bytes is not part of it


def test_lost_record_and_unknown_types():
    rec = struct.pack("=IHHQQ", PERF_RECORD_LOST, 0, 24, 5, 1234)
    assert PERF_RECORD.parse(rec).body.lost == 1234
    other = struct.pack("=IHH", 14, 0, 8)  # PERF_RECORD_THROTTLE's header: no body read
    assert PERF_RECORD.parse(other).body is None
    assert PERF_EVENT_HEADER.sizeof() == 8
