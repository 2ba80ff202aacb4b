"""Option values are checked when given (command line and library alike):
ranges, durations with units, ring sizes, filters against their field's type.
Every refusal on the command line is one line on stderr and a non-zero exit,
before anything is loaded (so no root is needed here)."""
from __future__ import annotations

import math
import subprocess
import sys

import pytest

from pybpf.cli import main
from pybpf_gadgets import top_file, trace_exec
from pybpf_gadgets.common import filters as flt
from pybpf_gadgets.common.errors import GadgetError
from pybpf_gadgets.common.options import duration, ring_size


@pytest.mark.parametrize("text,seconds", [
    ("1s", 1.0), ("500ms", 0.5), ("2m", 120.0), ("1.5", 1.5), ("3", 3.0), ("1h", 3600.0),
    (2, 2.0), (0.25, 0.25),
])
def test_durations(text, seconds):
    assert duration("timeout")(text) == seconds


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "1x", "", "ms", True, -2, math.nan])
def test_bad_durations(text):
    with pytest.raises(GadgetError, match="^--timeout "):
        duration("timeout")(text)


@pytest.mark.parametrize("text,size", [("4096", 4096), ("256K", 256 << 10), ("8M", 8 << 20),
                                       ("1G", 1 << 30), ("2G", 1 << 31), (65536, 65536)])
def test_ring_sizes(text, size):
    assert ring_size(text) == size


@pytest.mark.parametrize("text", ["1T", "4G", "3000", "2048", "0", "4097", "lots", 12288])
def test_bad_ring_sizes(text):
    with pytest.raises(GadgetError, match="^--ring-size .*(power of two|expected bytes)"):
        ring_size(text)


def test_filter_double_equals_as_ig_writes_it():
    event = {"proc": {"comm": "bash", "pid": 7}}
    fields = trace_exec.GADGET.all_fields
    assert flt.parse("proc.comm==bash", fields)(event)
    assert not flt.parse("proc.comm==true", fields)(event)
    assert flt.parse("proc.pid==7", fields)(event)


@pytest.mark.parametrize("expr,needle", [
    ("proc.pid<abc", "proc.pid is a number"),
    ("ret=ENOENT", "ret is a number"),
    ("args_truncated=maybe", "true or false"),
    ("args_truncated>1", "true or false"),
])
def test_filter_value_checked_against_the_field_type(expr, needle):
    with pytest.raises(GadgetError, match=needle):
        flt.parse(expr, trace_exec.GADGET.all_fields)


def test_filters_that_fit_their_field():
    fields = trace_exec.GADGET.all_fields
    for expr in ("proc.pid<100", "ret=-2", "proc.pid~^1", "args_truncated=true", "file~x"):
        flt.parse(expr, fields)


def test_the_library_checks_the_same_way():
    with pytest.raises(GadgetError, match="--timeout"):
        trace_exec.run(timeout=float("nan"))
    with pytest.raises(GadgetError, match="--interval"):
        top_file.run(interval=0)
    with pytest.raises(GadgetError, match="--ring-size"):
        trace_exec.run(ring_size=1 << 40)
    with pytest.raises(GadgetError, match="proc.pid is a number"):
        trace_exec.run(filters=["proc.pid<abc"])
    with pytest.raises(GadgetError, match="--max-rows"):
        top_file.run(max_rows=-1)


def _cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv,needle", [
    (["top_file", "--interval", "0"], "--interval"),
    (["top_file", "--interval", "-1"], "--interval"),
    (["top_file", "--interval", "5ms"], "more than 10 ms"),
    (["top_file", "--max-rows", "-1"], "--max-rows"),
    (["top_file", "--count", "0"], "--count"),
    (["top_file", "--sort", "nope"], "nope"),
    (["trace_exec", "--timeout", "nan"], "--timeout"),
    (["trace_exec", "--timeout", "-1"], "--timeout"),
    (["trace_exec", "--timeout", "inf"], "--timeout"),
    (["trace_exec", "--timeout", "soon"], "--timeout"),
    (["trace_exec", "--filter", "proc.pid<abc"], "proc.pid is a number"),
    (["trace_exec", "--ring-size", "1T"], "--ring-size: 1T: must be a power of two"),
    (["trace_exec", "--ring-size", "3000"], "power of two"),
    (["trace_exec", "--pid", "-5"], "--pid"),
    (["trace_exec", "--pid", "abc"], "--pid"),
    (["trace_exec", "--uid", "4294967295"], "--uid"),
    (["trace_exec", "--comm", "x" * 16], "at most 15 bytes"),
    (["profile_cpu", "--frequency", "0"], "--frequency"),
    (["profile_tcprtt", "--sport", "70000"], "--sport"),
    (["profile_tcprtt", "--by", "sideways"], "--by"),
    (["trace_dns", "--port", "0"], "--port"),
    (["snapshot_socket", "--protocol", "sctp"], "--protocol"),
    (["top_tcp", "--family", "5"], "--family"),
    (["trace_signal", "--signal", "SIGNOPE"], "--signal"),
    (["trace_capabilities", "--cap", "NOPE"], "--cap"),
])
def test_cli_refuses_in_one_line(argv, needle, capsys):
    code, err = _cli(["run", *argv], capsys)
    assert code not in (0, None)
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err and "Traceback" not in err


def test_cli_refusal_is_one_line_from_a_real_process():
    out = subprocess.run([sys.executable, "-m", "pybpf", "run", "trace_exec", "--ring-size", "1T"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "--ring-size: 1T: must be a power of two" in out.stderr


def test_parsers_take_their_own_output():
    """The command line parses text, then the session parses the result again."""
    from pybpf_gadgets import registry
    from pybpf_gadgets.trace_capabilities import capability
    from pybpf_gadgets.trace_signal import signal_number

    assert capability(capability("CAP_NET_BIND_SERVICE")) == 10
    assert signal_number(signal_number("KILL")) == 9
    for g in registry.all_gadgets():
        for p in g.params:
            if p.default is not None:
                once = p.parse(p.default)
                assert p.parse(once) == once, (g.name, p.name)
