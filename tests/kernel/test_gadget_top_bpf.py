"""top_bpf on the real kernel: a program we load and run a known number of
times shows with its type, name, run count, map memory and us as owner."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pybpf
from pybpf.links import attach
from pybpf_gadgets import top_bpf

ROOT = Path(__file__).resolve().parents[2]
CALLS = 300


def test_own_program_runs_counted_with_owner(obj_path):
    spec = pybpf.ObjectSpec.from_file(str(obj_path("minimal")))
    spec.constants["targ_tgid"] = os.getpid()
    with pybpf.load(spec) as coll, attach(coll.programs["count_getppid"]):
        prog_id = coll.programs["count_getppid"].id
        with top_bpf.run(pid=os.getpid()) as run:
            top_bpf.collect(run)
            for _ in range(CALLS):
                os.getppid()
            rows = top_bpf.collect(run)
    mine = [r for r in rows if r["id"] == prog_id]
    assert len(mine) == 1
    row = mine[0]
    assert row["type"] == "tracepoint" and row["name"] == "count_getppid"
    # other processes' getppid calls run it too (the filter is inside the program)
    assert CALLS <= row["runs"] < CALLS + 200
    assert row["run_time_us"] >= 0 and row["avg_ns"] > 0
    assert row["map_memory"] > 0 and row["map_ids"]
    assert f"({os.getpid()})" in row["processes"]
    assert row["proc"]["pid"] == os.getpid()
    # the pid filter: only programs we hold
    assert all(r["proc"]["pid"] == os.getpid() for r in rows)


def test_command_line_json(obj_path):
    with pybpf.load(str(obj_path("minimal"))) as coll:
        prog_id = coll.programs["count_getppid"].id
        out = subprocess.run([sys.executable, "-m", "pybpf", "run", "top_bpf", "-o", "json",
                              "--count", "1", "--interval", "0.3", "--max-rows", "0",
                              "--pid", str(os.getpid())],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["name"] for r in rows if r["id"] == prog_id] == ["count_getppid"]
