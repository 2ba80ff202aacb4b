"""`pybpf load OBJ PINDIR`: pins on success; on bad input or refusal one line naming
the file, a non-zero exit and nothing left in the kernel or under PINDIR."""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OBJECTS = ROOT / "bpf" / "objects"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pybpf", "load", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT)


def test_load_pins_programs_and_maps(pin_dir):
    got = run(OBJECTS / "loader_data.bpf.o", pin_dir / "progs", "--pinmaps", pin_dir / "maps")
    assert got.returncode == 0, got.stderr
    assert got.stdout == "" and got.stderr == ""
    assert sorted(p.name for p in (pin_dir / "progs").iterdir()) == ["read_globals"]
    assert sorted(p.name for p in (pin_dir / "maps").iterdir()) == [
        "_data_foo", "_rodata_bar", "_rodata_str1_1", "loader_d_bss", "loader_d_data",
        "loader_d_rodata"]


def test_type_override(pin_dir):
    got = run(OBJECTS / "minimal.bpf.o", pin_dir / "p", "--type", "tracepoint")
    assert got.returncode == 0, got.stderr
    got = run(OBJECTS / "minimal.bpf.o", pin_dir / "q", "--type", "no_such_type")
    assert got.returncode != 0 and "unknown program type 'no_such_type'" in got.stderr
    assert not (pin_dir / "q").exists()


def corrupt_bytes() -> bytes:
    data = bytearray((OBJECTS / "minimal.bpf.o").read_bytes())
    data[0x28:0x30] = struct.pack("<Q", len(data) * 4)  # section table past the end
    return bytes(data)


def non_bpf_elf() -> bytes:
    return Path(shutil.which("true") or "/bin/true").read_bytes()


BAD_INPUTS = {
    "truncated": lambda: (OBJECTS / "minimal.bpf.o").read_bytes()[:700],
    "corrupt": corrupt_bytes,
    "non_bpf": non_bpf_elf,
    "not_elf": lambda: b"#!/bin/sh\necho hello\n",
    "empty": lambda: b"",
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_one_line(kind, pin_dir, tmp_path):
    obj = tmp_path / f"{kind}.bpf.o"
    obj.write_bytes(BAD_INPUTS[kind]())
    got = run(obj, pin_dir / "progs", "--pinmaps", pin_dir / "maps")
    assert got.returncode != 0
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1, got.stderr
    assert lines[0].startswith("pybpf load: ") and str(obj) in lines[0]
    assert "Traceback" not in got.stderr
    assert list(pin_dir.iterdir()) == []  # the process is gone: unpinned objects went too


def test_missing_file(pin_dir):
    got = run(pin_dir.parent / "no_such_object.bpf.o", pin_dir / "p")
    assert got.returncode != 0 and "no_such_object.bpf.o" in got.stderr
    assert len(got.stderr.strip().splitlines()) == 1


def test_verifier_refusal_leaves_nothing(pin_dir):
    got = run(OBJECTS / "loader_reject.bpf.o", pin_dir / "progs", "--pinmaps", pin_dir / "maps")
    assert got.returncode != 0
    (line,) = got.stderr.strip().splitlines()
    assert "'out_of_bounds'" in line and "allowed memory range" in line
    assert list(pin_dir.iterdir()) == []


def test_pin_failure_rolls_back(pin_dir):
    (pin_dir / "progs").mkdir()
    (pin_dir / "progs" / "second_prog").mkdir()  # occupies the second program's pin
    got = run(OBJECTS / "loader_calls.bpf.o", pin_dir / "progs", "--pinmaps", pin_dir / "maps")
    assert got.returncode != 0 and len(got.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in (pin_dir / "progs").iterdir()) == ["second_prog"]
    assert not (pin_dir / "maps").exists()
    (pin_dir / "progs" / "second_prog").rmdir()


def test_load_takes_a_gadget_name(pin_dir):
    """`pybpf load GADGET PINDIR`: the gadget's object for this architecture,
    found through the pybpf.gadgets entry points."""
    got = run("trace_capabilities", pin_dir / "caps")
    assert got.returncode == 0, got.stderr
    assert "trace_cap_capable" in {p.name for p in (pin_dir / "caps").iterdir()}


def test_explain_takes_a_gadget_name():
    got = subprocess.run([sys.executable, "-m", "pybpf", "explain", "trace_exec", "-o", "json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert got.returncode == 0, got.stderr
    assert {r["program"] for r in json.loads(got.stdout)} >= {"trace_execve_enter"}


@pytest.mark.parametrize("command", [["load", "no_such_gadget", "/sys/fs/bpf/x"],
                                     ["explain", "no_such_gadget"]])
def test_neither_file_nor_gadget_is_one_line(command):
    got = subprocess.run([sys.executable, "-m", "pybpf", *command], capture_output=True,
                         text=True, cwd=ROOT)
    assert got.returncode == 1 and got.stdout == ""
    assert got.stderr == (f"pybpf {command[0]}: no_such_gadget: no such file, and no installed "
                          "gadget of that name (pybpf list shows the gadgets)\n")
