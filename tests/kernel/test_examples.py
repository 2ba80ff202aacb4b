"""The user documentation runs as written: every file under examples/ (each
triggers its own events and checks what it reads) and the README's Python
example, as root against the real kernel; every code block of docs/guide.md
is an excerpt of one of those files, and the guide links every example."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
GUIDE = ROOT / "docs" / "guide.md"
TIMEOUT = 120


def python_blocks(markdown: Path) -> list:
    return re.findall(r"^```python\n(.*?)^```", markdown.read_text(), re.S | re.M)


def run_script(path: Path, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, str(path)], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{path.name} printed nothing"
    return proc.stdout


def test_there_are_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, tmp_path):
    run_script(path, tmp_path)


def test_readme_example_runs(tmp_path):
    (code,) = python_blocks(ROOT / "README.md")
    assert len(code.strip().splitlines()) <= 20
    script = tmp_path / "readme_example.py"
    script.write_text(code)
    out = run_script(script, ROOT)  # "run as root from the repository's root"
    assert "'path': '/etc/hostname'" in out and " opens" in out


def test_guide_blocks_are_excerpts_of_examples():
    sources = {p.name: p.read_text() for p in EXAMPLES}
    blocks = python_blocks(GUIDE)
    assert len(blocks) >= len(EXAMPLES)
    for block in blocks:
        assert any(block in text for text in sources.values()), \
            f"docs/guide.md block not found in examples/:\n{block}"


def test_guide_links_every_example():
    text = GUIDE.read_text()
    for path in EXAMPLES:
        assert f"(../examples/{path.name})" in text, f"docs/guide.md does not link {path.name}"
