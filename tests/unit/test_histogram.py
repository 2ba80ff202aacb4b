"""Log2 histogram buckets, text chart and json form."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pybpf_gadgets.common.histogram import Bucket, buckets, format_log2, log2_slot, slot_bounds, to_json


def test_slot_rule_matches_bounds():
    assert [log2_slot(v) for v in (0, 1, 2, 3, 4, 7, 8, 1023, 1024)] == [0, 0, 1, 1, 2, 2, 3, 9, 10]
    assert slot_bounds(0) == (0, 1)
    assert slot_bounds(1) == (2, 3)
    assert slot_bounds(10) == (1024, 2047)


@given(st.integers(min_value=0, max_value=1 << 63))
def test_every_value_falls_in_its_slot(value):
    low, high = slot_bounds(log2_slot(value))
    assert low <= value <= high


def test_buckets_trim_tail_keep_leading_zeros():
    assert buckets([0, 3, 0, 1, 0, 0]) == [Bucket(0, 1, 0), Bucket(2, 3, 3),
                                          Bucket(4, 7, 0), Bucket(8, 15, 1)]
    assert buckets([0, 0]) == []


def test_json_form():
    doc = to_json([1, 0, 2], "usecs")
    assert doc == {"unit": "usecs", "total": 3, "buckets": [
        {"low": 0, "high": 1, "count": 1}, {"low": 2, "high": 3, "count": 0},
        {"low": 4, "high": 7, "count": 2}]}


def test_text_chart():
    text = format_log2([0, 1, 0, 4] + [0] * 20, "usecs")
    lines = text.splitlines()
    assert "usecs" in lines[0] and "count" in lines[0] and "distribution" in lines[0]
    assert len(lines) == 5
    assert lines[1].split() [:5] == ["0", "->", "1", ":", "0"]
    assert lines[4].endswith("|" + "*" * 40 + "|")
    assert lines[2].endswith("|" + "*" * 10 + " " * 30 + "|")
    # bars line up: every row has its '|' at the same column
    assert len({line.index("|") for line in lines[1:]}) == 1
    assert format_log2([0, 0, 0], "usecs") == ""


def test_tiny_counts_still_show():
    lines = format_log2([1, 100000], "msecs").splitlines()
    assert "|*" in lines[1]
