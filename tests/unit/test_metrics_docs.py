"""docs/metrics.md stays true: its JSON example is a valid serve plan, its
Prometheus scrape configuration passes promtool."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf_gadgets.metrics import config

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def _blocks(kind):
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def test_json_example_is_a_valid_plan():
    (example,) = _blocks("json")
    p = config.plan(json.loads(example), "docs/metrics.md")
    assert [g.gadget.name for g in p.gadgets] == ["trace_exec", "trace_dns", "top_tcp",
                                                  "top_file", "profile_blockio"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) missing")
def test_static_scrape_config_passes_promtool(tmp_path):
    static = [b for b in _blocks("yaml") if "static_configs" in b]
    assert static
    for i, block in enumerate(static):
        path = tmp_path / f"p{i}.yml"
        path.write_text(block)
        done = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True,
                              timeout=30)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
