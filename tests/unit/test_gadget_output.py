"""JSON and column writers."""
import io
import json

from pybpf_gadgets.common.gadget import Field, Gadget, Hook
from pybpf_gadgets.common.output import ColumnWriter, JSONWriter, select_fields

G = Gadget("demo", "trace", "demo gadget", "demo", [Hook("tracepoint", "a/b")],
           fields=[Field("n", "a number", -4, True, "N"), Field("text", "rest", 0, True)])
EVENT = {"proc": {"comm": "bash", "pid": 7}, "container": {"name": "web"}, "n": 12,
         "text": "hello world " * 20}


def test_select_fields_keeps_nesting():
    assert select_fields(EVENT, ["proc.pid", "n"]) == {"proc": {"pid": 7}, "n": 12}


def test_json_writer_one_object_per_line():
    out = io.StringIO()
    w = JSONWriter(["proc.comm"], out)
    w.event(EVENT)
    w.lost(3, 5)
    lines = out.getvalue().splitlines()
    assert json.loads(lines[0]) == {"proc": {"comm": "bash"}}
    assert json.loads(lines[1]) == {"type": "lost", "lost": 3, "lost_total": 5}


def test_columns_fit_width():
    out = io.StringIO()
    w = ColumnWriter(G, stream=out, width=60)
    w.header()
    w.event(EVENT)
    header, row = out.getvalue().splitlines()
    assert header.split() == ["CONTAINER", "COMM", "PID", "N", "TEXT"]
    assert len(row) <= 60
    assert row.startswith("web")
    assert "  12 hello" in row


def test_columns_selected_fields_and_truncation():
    out = io.StringIO()
    w = ColumnWriter(G, ["proc.comm"], stream=out, width=80)
    w.event({"proc": {"comm": "a-very-long-command-name"}})
    assert out.getvalue().rstrip() == "a-very-long-com+"


def test_columns_escape_control_characters():
    out = io.StringIO()
    w = ColumnWriter(G, ["text"], stream=out, width=80)
    w.event({"text": ["python3", "-c", "a\nb\tc"]})
    assert out.getvalue() == "python3 -c a\\nb\\tc\n"
