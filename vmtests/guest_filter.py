"""pytest plugin for the guest: import only the test files the host selected.

Collecting the whole suite under TCG costs minutes (Python runs ~15x slower
and every test module is imported even when ``-m vm`` then deselects it). The
host collects first with the same arguments (2 s) and writes the files that
hold selected tests, one per line, to the file named by $PYBPF_VMTESTS_FILES;
the guest loads this plugin (``-p vmtests.guest_filter``) and skips importing
every other test file. conftest.py files and directories are untouched, and
the guest still applies the same -m/-k selection itself.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Set

ENV = "PYBPF_VMTESTS_FILES"
_allowed: Optional[Set[Path]] = None


def _allowed_files() -> Optional[Set[Path]]:
    global _allowed
    if _allowed is None:
        listing = os.environ.get(ENV)
        if not listing:
            return None
        _allowed = {Path(line).resolve()
                    for line in Path(listing).read_text().splitlines() if line.strip()}
    return _allowed


def pytest_ignore_collect(collection_path: Path, config) -> Optional[bool]:
    allowed = _allowed_files()
    if allowed is None or collection_path.suffix != ".py":
        return None
    if collection_path.name == "conftest.py" or collection_path.resolve() in allowed:
        return None
    return True
