"""docs/ARCHITECTURE.md stays true to the tree: every repository path it names exists."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
TOP = ("pybpf/", "gadgets/", "bpf/", "bench/", "tests/")


def named_paths(text: str):
    """Backticked paths from the top folders; ``a/{b,c}`` names a/b and a/c (modules: .py)."""
    for token in re.findall(r"`([^`\s]+)`", text):
        if not token.startswith(TOP) or "<" in token:
            continue
        braces = re.fullmatch(r"(.*)\{([^}]*)\}(.*)", token)
        if braces:
            head, names, tail = braces.groups()
            yield from (f"{head}{name}{tail or '.py'}" for name in names.split(","))
        else:
            yield token


def test_every_named_path_exists():
    paths = list(named_paths(DOC.read_text()))
    assert "pybpf/uapi.py" in paths and "pybpf/core/match.py" in paths
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"docs/ARCHITECTURE.md names paths that do not exist: {missing}"
