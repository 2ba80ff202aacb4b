"""ig's output conventions in `pybpf run`: -o jsonpretty and -o yaml, relative
--fields, the field list in --help, a marked cut in the last column, BCC's
-T/-t time columns (never cut), and what a profile says as it starts."""
from __future__ import annotations

import io
import json
import math

import pytest
import yaml_rules

from pybpf_gadgets import trace_exec
from pybpf_gadgets.cli import run as cli_run
from pybpf_gadgets.cli.tables import tracing_line
from pybpf_gadgets.common.errors import GadgetError
from pybpf_gadgets.common.gadget import Field, Gadget
from pybpf_gadgets.common.output import ColumnWriter, DocumentWriter, chosen_fields, document_writer, drop_fields
from pybpf_gadgets.common.timecolumns import clock_view, epoch, since_view
from pybpf_gadgets.common.yamltext import document

ODD = {
    "timestamp": "2026-12-07T03:32:11.266391Z", "n": -3, "big": 1 << 70, "f": 1e-05,
    "inf": float("inf"), "t": True, "z": None, "no": "no", "yes": "on", "num": "0x10",
    "proc": {"comm": 'q"b\\c\x01\x7f\x85\u2028\ufffe\U0001F600\u00e9\t\n\0', "pid": 7},
    "args": ["-x", "", "1.5", "null", "#c", "a: b", "- d", "[x]"], "empty": [], "none": {},
    "nested": [{"a": 1, "b": {"c": [1, [2, {}]]}}, [], [3]], "weird key": 1, "y": 2, "1": 3,
    "labels": {"app.kubernetes.io/name": "web"},
}


def _same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def test_yaml_documents_read_back_by_yaml_rules():
    text = document(ODD) + document(3) + document([]) + document({"nan": float("nan")})
    docs = yaml_rules.documents(text)
    assert docs[0] == ODD and docs[1:3] == [3, []]
    assert math.isnan(docs[3]["nan"])


def test_yaml_documents_read_back_by_pyyaml_when_installed():
    yaml = pytest.importorskip("yaml")
    text = document(ODD) + document({"k": "v"})
    assert list(yaml.safe_load_all(text)) == [ODD, {"k": "v"}]


def test_yaml_rules_refuse_plain_strings():
    with pytest.raises(ValueError, match="unquoted"):
        yaml_rules.documents("---\nk: no\n")
    with pytest.raises(ValueError, match="boolean"):
        yaml_rules.documents('---\nyes: "x"\n')


G = Gadget(name="g", category="trace", description="d", object="none", hooks=[],
           fields=[Field("args", "argv", 0, True, "ARGS", type=list),
                   Field("ret", "result", -4, True, "RET", type=int)])


def test_fields_plain_list_is_kept_in_order():
    assert chosen_fields(G, "ret,proc.comm", "columns") == (["ret", "proc.comm"], [])
    assert chosen_fields(G, "ret,proc.comm", "yaml") == (["ret", "proc.comm"], [])
    assert chosen_fields(G, None, "json") == (None, [])


def test_fields_relative_to_the_default_columns():
    kept, drop = chosen_fields(G, "+timestamp,-args", "columns")
    default = [f.name for f in G.all_fields if f.column]
    assert kept == [n for n in default if n != "args"] + ["timestamp"] and drop == []


def test_fields_relative_drop_paths_from_documents():
    assert chosen_fields(G, "+timestamp,-args,-proc.comm", "json") == (None, ["args", "proc.comm"])
    event = {"args": [1], "proc": {"comm": "a", "pid": 1}, "ret": 0}
    assert drop_fields(event, ["args", "proc.comm"]) == {"proc": {"pid": 1}, "ret": 0}
    assert event["proc"] == {"comm": "a", "pid": 1}  # the event itself is unchanged


@pytest.mark.parametrize("text,message", [
    ("+ret,args", "not both"), ("-nope", "unknown field 'nope'"), ("nope", "unknown field")])
def test_fields_errors_name_the_option_or_field(text, message):
    with pytest.raises(GadgetError, match=message):
        chosen_fields(G, text, "columns")


def test_fields_value_starting_with_a_dash_is_the_value():
    assert cli_run._joined_fields(["--fields", "-args", "-o", "json"]) == \
        ["--fields=-args", "-o", "json"]


def test_jsonpretty_documents_parse_one_after_another():
    out = io.StringIO()
    writer = document_writer("jsonpretty", stream=out, drop=["args"])
    writer.events([ODD, {"x": 1}])
    writer.lost(2, 5)
    text, decoder, values, at = out.getvalue(), json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        at += 1
    assert "args" not in values[0] and values[0]["proc"] == ODD["proc"]
    assert values[1:] == [{"x": 1}, {"type": "lost", "lost": 2, "lost_total": 5}]
    assert "\n  \"n\": -3," in text  # indented


def test_yaml_writer_keeps_chosen_fields():
    out = io.StringIO()
    DocumentWriter("yaml", ["proc.pid", "ret"], out).events([{"proc": {"pid": 1, "comm": "a"},
                                                             "ret": -2}])
    assert yaml_rules.documents(out.getvalue()) == [{"proc": {"pid": 1}, "ret": -2}]


def test_the_last_column_cut_at_the_terminal_width_is_marked():
    out = io.StringIO()
    writer = ColumnWriter(G, ["ret", "args"], stream=out, width=30)
    writer.events([{"ret": 0, "args": ["x" * 60]}, {"ret": 0, "args": ["short"]}])
    long, short = out.getvalue().splitlines()
    assert len(long) == 30 and long.endswith("x+")
    assert short.endswith("short")


def test_timestamp_column_is_never_cut():
    out = io.StringIO()
    ColumnWriter(G, ["timestamp", "ret"], stream=out, width=80).events([{**ODD, "ret": 0}])
    assert out.getvalue().startswith(ODD["timestamp"] + " ")


def test_time_columns_views():
    assert clock_view(0)("2026-12-07T03:32:11.266391Z") == "03:32:11"
    assert clock_view(3600 * 10)("2026-12-07T23:32:11.266391Z") == "09:32:11"
    start = epoch("2026-12-07T03:32:10.000000Z")
    assert since_view(start)("2026-12-07T03:32:11.266391Z") == "1.266"
    assert math.isclose(epoch("1970-01-01T00:00:01.5Z"), 1.5)


def test_run_help_lists_the_fields_with_types(capsys):
    with pytest.raises(SystemExit):
        cli_run.gadget_parser(trace_exec.GADGET).parse_args(["--help"])
    out = capsys.readouterr().out
    assert "fields (for --fields and --filter" in out
    assert " *args" in out and "list" in out and "argv" in out
    assert "-T, --time" in out and "-t, --timestamp" in out and "jsonpretty" in out


class _Session:
    def __init__(self, timeout):
        self.timeout = timeout
        self.gadget = Gadget(name="profile_x", category="profile", description="d",
                             object="none", hooks=[])


def test_a_profile_says_how_it_ends():
    assert tracing_line(_Session(5.0)) == "Tracing (profile_x) for 5s..."
    assert "Ctrl-C" not in tracing_line(_Session(0.5))
    assert tracing_line(_Session(None)) == "Tracing (profile_x)... Ctrl-C to end."


def test_fixed_columns_wider_than_the_terminal_are_cut_at_its_edge():
    wide = Gadget(name="w", category="trace", description="d", object="none", hooks=[],
                  fields=[Field(f"c{i}", "c", 12, True, type=str) for i in range(6)])
    out = io.StringIO()
    writer = ColumnWriter(wide, [f"c{i}" for i in range(6)], stream=out, width=40)
    writer.header()
    writer.events([{f"c{i}": "v" * 12 for i in range(6)}])
    header, row = out.getvalue().splitlines()
    assert len(header) <= 40 and len(row) == 40 and row.endswith("+")


@pytest.mark.parametrize("name,argv,dest,value", [
    ("trace_exec", ["-x"], "param_fails", True),
    ("trace_exec", ["--max-args", "5"], "param_max_args", 5),
    ("trace_capabilities", ["-v"], "param_verbose", True),
    ("top_file", ["--max-entries", "3"], "param_max_rows", 3),
    ("top_file", ["--max-rows", "4"], "param_max_rows", 4),
    ("snapshot_process", ["--max-entries", "2"], "max_entries", 2),
    ("trace_open", ["-T", "-t"], "timestamp", True),
])
def test_bcc_and_ig_spellings_parse(name, argv, dest, value):
    from pybpf_gadgets import registry
    opts = cli_run.gadget_parser(registry.get(name)).parse_args(argv)
    assert getattr(opts, dest) == value


def test_every_gadget_lists_its_fields_in_help(capsys):
    from pybpf_gadgets import registry
    for gadget in registry.all_gadgets():
        with pytest.raises(SystemExit):
            cli_run.gadget_parser(gadget).parse_args(["--help"])
        out = capsys.readouterr().out
        for field in gadget.all_fields:
            assert field.name in out and field.help[:30] in out.replace("\n", " ")


def test_run_help_into_a_closed_pipe_is_quiet():
    """`pybpf run --help | head -1`: the reader is gone before the help is written."""
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "pybpf", "run", "--help"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # long before the interpreter has started
    err = proc.stderr.read()
    assert proc.wait() == 0 and "Traceback" not in err, err
