"""Registry, gadget descriptions and the CLI's answers to bad input (no root needed)."""
import pytest

from pybpf.cli import main
from pybpf_gadgets import registry
from pybpf_gadgets.common.errors import GadgetError
from pybpf_gadgets.common.session import open_session

TRACE = ["trace_exec", "trace_open", "trace_tcp", "trace_bind", "trace_signal"]


def test_registry_lists_trace_gadgets():
    names = [g.name for g in registry.all_gadgets()]
    for name in TRACE:
        assert name in names
    cats = [g.category for g in registry.all_gadgets()]
    assert cats == sorted(cats, key=("trace", "top", "profile", "snapshot").index)


def test_every_gadget_is_consistent():
    for g in registry.all_gadgets():
        if g.category != "trace":
            continue
        assert g.object_path().exists(), g.name
        names = [f.name for f in g.all_fields]
        assert len(names) == len(set(names)), g.name
        assert any(f.column for f in g.all_fields)


def test_unknown_gadget_suggests():
    with pytest.raises(GadgetError, match="did you mean trace_exec"):
        registry.get("trace_exe")


def test_run_validates_before_touching_the_kernel():
    g = registry.get("trace_exec")
    with pytest.raises(GadgetError, match="unknown field"):
        open_session(g, filters=["nope=1"])
    with pytest.raises(GadgetError, match="exclude each other"):
        open_session(g, container="x", host=True)
    with pytest.raises(GadgetError, match="at most 15"):
        open_session(g, comm="x" * 16)
    with pytest.raises(GadgetError, match="unknown parameter"):
        open_session(g, params={"nope": 1})


@pytest.mark.parametrize("argv,needle", [
    (["run", "nope"], "unknown gadget 'nope'"),
    (["run", "trace_exec", "--fields", "proc.nope"], "unknown field 'proc.nope'"),
    (["run", "trace_exec", "--filter", "bad"], "bad filter"),
    (["run", "trace_exec", "--filter", "x.y=1"], "unknown field"),
])
def test_cli_bad_input_is_one_line(argv, needle, capsys):
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert needle in err
    assert len(err.strip().splitlines()) == 1


def test_cli_bad_option_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "trace_exec", "--bogus"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_cli_list(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["GADGET", "CATEGORY", "RUNS"]
    assert any(line.startswith("trace_exec ") for line in lines)
