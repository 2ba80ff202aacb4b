"""Host-side collection: which test files hold the tests a pytest command selects."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import List, Tuple

# "-q" lists node ids (file.py::test); "-qq" lists "file.py: N".
_NODE = re.compile(r"^([^\s:]+\.py)(?:::|: (\d+)$)")


class CollectError(Exception):
    """pytest could not collect on the host."""


def selected_files(python: str, checkout: Path, pytest_args: List[str]) -> Tuple[List[str], int]:
    """(files, number of tests) that ``pytest pytest_args`` would run, collected on the host."""
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    proc = subprocess.run(
        [python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *pytest_args],
        cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode == 5:
        return [], 0
    if proc.returncode != 0:
        raise CollectError("\n".join(proc.stdout.splitlines()[-30:]))
    files: List[str] = []
    tests = 0
    for line in proc.stdout.splitlines():
        match = _NODE.match(line.strip())
        if match:
            tests += int(match.group(2)) if match.group(2) else 1
            if match.group(1) not in files:
                files.append(match.group(1))
    return files, tests
