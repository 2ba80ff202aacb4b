"""The top loop (MapSession's intervals shown by gadgets.cli.tables.live_top) and
the formats of the map gadgets, without a kernel: a session that loads
nothing, rows from a plain collect function."""
from __future__ import annotations

import io
import json
import time

from pybpf_gadgets.cli.tables import live_top, table_lines
from pybpf_gadgets.common.formats import endpoint, file_type, ip_text
from pybpf_gadgets.common.gadget import Field, Gadget, Hook
from pybpf_gadgets.common.mapsession import MapSession, top_params
from pybpf_gadgets.common.session import open_session


class NoKernel(MapSession):
    """A MapSession that loads nothing: its rows come from the gadget's collect alone."""

    def start(self):
        self._started = time.monotonic()
        return self

    def close(self):
        pass


def _collect(session):
    session.state["calls"] = session.state.get("calls", 0) + 1
    pending = session.state["batches"]
    return pending.pop(0) if pending else []


GADGET = Gadget(name="top_fake", category="top", description="rows for the loop",
                object="none", hooks=[Hook("tracepoint", "x/y")], params=top_params("n"),
                fields=[Field("n", "a number", -5, True, "N", type=int),
                        Field("name", "a name", 0, True)],
                collect=_collect, session=NoKernel)


def _session(batches, **params):
    session = open_session(GADGET, filters=["name!=hidden"], interval="20ms", count=2, **params)
    session.state["batches"] = list(batches)
    return session


def _row(n, name):
    return {"proc": {"pid": n, "comm": name}, "runtime": {"containerName": ""}, "n": n, "name": name}


def test_json_one_object_per_row_per_interval_sorted_and_cut():
    session = _session([[_row(1, "a"), _row(5, "b"), _row(3, "c"), _row(9, "hidden")],
                        [_row(2, "d")]], max_rows=2, sort="-n")
    out = io.StringIO()
    live_top(session, "json", out=out, keys=io.StringIO())
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["n"], r["name"]) for r in rows] == [(5, "b"), (3, "c"), (2, "d")]
    assert len({r["timestamp"] for r in rows[:2]}) == 1 and rows[0]["timestamp"].endswith("Z")
    assert session.state["calls"] == 2


def test_columns_off_a_terminal_repeat_the_table():
    session = _session([[_row(1, "a")], [_row(2, "b")]], max_rows=0)
    out = io.StringIO()
    live_top(session, "columns", out=out, keys=io.StringIO())
    text = out.getvalue()
    assert text.count("top_fake ") == 2 and "\x1b" not in text
    tables = text.strip().split("\n\n")
    assert len(tables) == 2 and tables[0].splitlines()[1].split()[-2:] == ["N", "NAME"]


def test_library_iteration_yields_one_list_per_interval():
    session = _session([[_row(1, "a"), _row(9, "hidden")], [_row(2, "b")]])
    with session:
        batches = [[r["name"] for r in batch] for batch in session]
    assert batches == [["a"], ["b"]]


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
