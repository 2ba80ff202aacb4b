"""The console script's entry (pybpf_launch): no garbage collection runs before the
command's start-up objects are frozen, and the collector runs again after."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import gc, json, sys
seen = {}
freeze = gc.freeze
def counted():
    seen["collections"] = sum(s["collections"] for s in gc.get_stats()) - base
    seen["enabled"] = gc.isenabled()
    freeze()
gc.freeze = counted
sys.argv = ["pybpf", "list"]
import pybpf_launch
base = sum(s["collections"] for s in gc.get_stats())  # the interpreter's own start
code = pybpf_launch.main()
seen.update(code=code, frozen=gc.get_freeze_count() > 0, enabled_after=gc.isenabled())
print(json.dumps(seen), file=sys.stderr)
"""


def test_start_up_is_frozen_before_any_collection():
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    seen = json.loads(done.stderr.strip().splitlines()[-1])
    assert seen == {"collections": 0, "enabled": False, "code": 0, "frozen": True,
                    "enabled_after": True}


def test_a_caller_of_main_keeps_its_heap_unfrozen():
    """pybpf.cli.main called by a program (not the console script) leaves the
    caller's collector as it was and freezes nothing of the caller's."""
    code = ("import gc, sys; from pybpf.cli import main; main(['list']); "
            "print(gc.get_freeze_count(), gc.isenabled(), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "0 True"

