"""The live table: plain output off a terminal, in-place redraws and keys on one."""
from __future__ import annotations

import io
import os
import pty

import pytest

from pybpf_gadgets.common.livetable import LiveTable, parse_sort, sort_rows


def test_parse_sort():
    assert parse_sort("-wbytes, comm", ["comm", "wbytes"]) == [("wbytes", True), ("comm", False)]
    with pytest.raises(ValueError, match="nope"):
        parse_sort("nope", ["comm"])


def test_sort_rows_multi_key_stable():
    rows = [{"c": "b", "n": 1}, {"c": "a", "n": 2}, {"c": "a", "n": 1}, {"c": "z", "n": None}]
    out = sort_rows(rows, [("n", True), ("c", False)])
    assert out == [{"c": "a", "n": 2}, {"c": "a", "n": 1}, {"c": "b", "n": 1},
                   {"c": "z", "n": None}]
    assert rows[0] == {"c": "b", "n": 1}  # input untouched


def test_sort_rows_dotted_paths():
    rows = [{"proc": {"pid": 3}}, {"proc": {"pid": 1}}, {"proc": {}}, {"proc": {"pid": 2}}]
    out = sort_rows(rows, parse_sort("-proc.pid", ["proc.pid"]))
    assert [r["proc"].get("pid") for r in out] == [3, 2, 1, None]


def test_plain_tables_off_a_terminal():
    out = io.StringIO()
    with LiveTable(out=out, keys=io.StringIO()) as table:
        assert not table.interactive
        table.show("t1", "A B", ["1 2"])
        table.show("t2", "A B", ["3 4"])
    assert out.getvalue() == "t1\nA B\n1 2\n\nt2\nA B\n3 4\n\n"
    assert "\x1b" not in out.getvalue()


def test_wait_off_a_terminal_sleeps():
    now = [0.0]
    table = LiveTable(out=io.StringIO(), keys=io.StringIO(), clock=lambda: now[0])
    table.open()
    assert table.wait(0)


def test_terminal_redraws_in_place_and_quits_on_q():
    master, slave = pty.openpty()
    out = os.fdopen(slave, "w")
    try:
        table = LiveTable(out=out, keys=out)
        with table:
            assert table.interactive
            table.show("t", "H", ["r1"])
            table.show("t", "H", ["r2"])
            os.write(master, b"q")
            assert table.wait(5) is False
            assert table.wait(0) is True
        # the terminal is back in canonical mode after close
        import termios
        assert termios.tcgetattr(slave)[3] & termios.ICANON
        data = b""
        while True:
            import select
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                break
            data += os.read(master, 4096)
        text = data.decode()
        assert text.count("\x1b[H\x1b[2J") == 2
        assert text.startswith("\x1b[?1049h") and text.endswith("\x1b[?1049l")
    finally:
        out.close()
        os.close(master)
