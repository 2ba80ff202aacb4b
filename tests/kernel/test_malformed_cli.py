"""The malformed-input suite of `pybpf load`: every case exits non-zero within 20 s with
one line naming the file, no traceback, and leaves nothing behind (no PINDIR, no pins)."""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from malformed import CASES

ROOT = Path(__file__).resolve().parents[2]


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, resource.RLIM_INFINITY))


@pytest.mark.parametrize("case", sorted(CASES))
def test_load_refuses_in_one_line(case, tmp_path, pin_dir):
    make, word = CASES[case]
    path = make(tmp_path)
    target = pin_dir / "progs"
    got = subprocess.run([sys.executable, "-m", "pybpf", "load", str(path), str(target),
                          "--pinmaps", str(pin_dir / "maps")],
                         capture_output=True, text=True, cwd=ROOT, timeout=20,
                         preexec_fn=_cap_memory)
    assert got.returncode != 0
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in got.stderr, got.stderr
    assert lines[0].startswith("pybpf load: ") and str(path) in lines[0] and word in lines[0]
    assert list(pin_dir.iterdir()) == []
