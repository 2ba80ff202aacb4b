"""The top loop (run_top) and the formats of the map gadgets, without a kernel:
rows come from a plain collect function."""
from __future__ import annotations

import io
import json

from pybpf_gadgets.common.formats import endpoint
from pybpf_gadgets.common.gadget import Field, Gadget, Hook
from pybpf_gadgets.common.maprun import file_type, ip_text, run_top, table_lines

GADGET = Gadget(name="top_fake", category="top", description="rows for the loop",
                object="none", hooks=[Hook("tracepoint", "x/y")],
                fields=[Field("n", "a number", -5, True, "N"), Field("name", "a name", 0, True)])


class RowSource:
    """Stands where a MapRun stands in run_top: collect, keep, stop and time."""

    def __init__(self, batches):
        self.gadget = GADGET
        self.batches = list(batches)
        self.calls = 0
        self.stopped = False

    def collect(self, _session):
        self.calls += 1
        return self.batches.pop(0) if self.batches else []

    def keep(self, row):
        return row["name"] != "hidden"

    def time_left(self):
        return None


def _row(n, name):
    return {"proc": {"pid": n, "comm": name}, "container": {"name": ""}, "n": n, "name": name}


def test_json_one_object_per_row_per_interval_sorted_and_cut():
    src = RowSource([[_row(1, "a"), _row(5, "b"), _row(3, "c"), _row(9, "hidden")],
                     [_row(2, "d")]])
    out = io.StringIO()
    run_top(src, interval=0, max_rows=2, sort="-n", output="json", count=2, out=out,
            keys=io.StringIO())
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["n"], r["name"]) for r in rows] == [(5, "b"), (3, "c"), (2, "d")]
    assert len({r["timestamp"] for r in rows[:2]}) == 1 and rows[0]["timestamp"].endswith("Z")
    assert src.calls == 2


def test_columns_off_a_terminal_repeat_the_table():
    src = RowSource([[_row(1, "a")], [_row(2, "b")]])
    out = io.StringIO()
    run_top(src, interval=0, max_rows=0, sort="n", output="columns", count=2, out=out,
            keys=io.StringIO())
    text = out.getvalue()
    assert text.count("top_fake ") == 2 and "\x1b" not in text
    tables = text.strip().split("\n\n")
    assert len(tables) == 2 and tables[0].splitlines()[1].split()[-2:] == ["N", "NAME"]


def test_table_lines_layout():
    header, lines = table_lines(GADGET, ["n", "name"], [_row(42, "x")], width=40)
    assert header.split() == ["N", "NAME"] and lines[0].split() == ["42", "x"]


def test_formats():
    assert file_type(0o100644) == "regular" and file_type(0o140777) == "socket"
    assert file_type(0o010600) == "fifo" and file_type(0) == ""
    assert ip_text(2, bytes([127, 0, 0, 1]) + bytes(12)) == "127.0.0.1"
    assert ip_text(10, bytes(15) + b"\x01") == "::1"
    assert ip_text(10, [0] * 15 + [1]) == "::1"
    assert endpoint(2, "10.0.0.1", 80) == "10.0.0.1:80"
    assert endpoint(10, "::1", 443) == "[::1]:443"
