"""pybpf.load of a program that passes a function as a callback (BPF_PSEUDO_FUNC).

Kernels before 5.13 do not count callback targets as subprograms and refuse
the func_info that names them; pybpf then names the callback instead of
passing on the kernel's count mismatch. Marked ``vm`` to run on 5.10."""
from __future__ import annotations

from pathlib import Path

import pytest

import pybpf
from pybpf import features
from pybpf.errors import LoadError
from pybpf.uapi import ProgType

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"
BPF_FUNC_LOOP = 181
MISMATCH = "doesn't match number of subprogs"


@pytest.mark.vm
def test_callback_program_loads_or_is_refused_by_name():
    path = OBJECTS / "loader_calls.bpf.o"
    if features.has_helper(ProgType.TRACEPOINT, BPF_FUNC_LOOP):
        with pybpf.load(path, programs=["first_prog"]) as coll:
            assert coll.programs["first_prog"].fd
        return
    with pytest.raises(LoadError) as caught:
        pybpf.load(path, programs=["first_prog"])
    first = str(caught.value).splitlines()[0]
    assert "'first_prog'" in first
    assert MISMATCH not in first
    if "callback" in first:  # the kernel does not know callbacks at all (before 5.13)
        assert "loop_cb" in first and "5.13" in first
