"""User-space filters (--filter) on presented events."""
import pytest

from pybpf_gadgets.common import filters as flt
from pybpf_gadgets.common.errors import GadgetError

EVENT = {"proc": {"comm": "bash", "pid": 42}, "args": ["ls", "-l"], "error": "",
         "ok": True}


@pytest.mark.parametrize("expr,expected", [
    ("proc.comm=bash", True), ("proc.comm=zsh", False), ("proc.comm!=zsh", True),
    ("proc.pid=42", True), ("proc.pid>41", True), ("proc.pid<42", False),
    ("proc.pid<=42", True), ("proc.pid>=43", False), ("proc.pid=0x2a", True),
    ("proc.comm~^ba", True), ("proc.comm~sh$", True), ("proc.comm~^z", False),
    ("args~-l", True), ("args=ls -l", True), ("error=", True), ("ok=true", True),
    ("proc.pid=abc", False), ("missing.field!=x", True), ("missing.field=x", False),
])
def test_operators(expr, expected):
    assert flt.parse(expr)(EVENT) is expected


def test_all_must_match():
    fs = flt.parse_all(["proc.comm=bash", "proc.pid>100"])
    assert not flt.matches(fs, EVENT)
    assert flt.matches(flt.parse_all(["proc.comm=bash", "proc.pid>1"]), EVENT)


def test_unknown_field_and_bad_syntax():
    with pytest.raises(GadgetError, match="unknown field 'nope'"):
        flt.parse("nope=1", known=["proc.comm"])
    with pytest.raises(GadgetError, match="bad filter"):
        flt.parse("=bash")
    with pytest.raises(GadgetError, match="bad regex"):
        flt.parse("proc.comm~(")


def test_get_path():
    assert flt.get_path(EVENT, "proc.comm") == "bash"
    assert flt.get_path(EVENT, "proc.comm.x") is None
    assert flt.get_path(EVENT, "nope") is None
