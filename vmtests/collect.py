"""Host-side collection: which test files hold the tests a pytest command selects."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import List, Tuple

# "-q" lists node ids (file.py::test); "-qq" lists "file.py: N".
_NODE = re.compile(r"^([^\s:]+\.py)(?:::|: (\d+)$)")
# A module that skips itself while being collected (importorskip, or
# pytest.skip(allow_module_level=True) on what this kernel lacks) has no items
# here but may well run in a guest: -rs reports it as "SKIPPED [1] file.py:3: ...".
_SKIPPED_MODULE = re.compile(r"^SKIPPED \[\d+\] ([^\s:]+\.py):\d+: ")


class CollectError(Exception):
    """pytest could not collect on the host."""


def selected_files(python: str, checkout: Path, pytest_args: List[str]) -> Tuple[List[str], int]:
    """(files, number of tests) that ``pytest pytest_args`` would run, collected on the host.

    Files that skipped themselves at collection on the host are included: the
    guest's kernel may have what this one lacks.
    """
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    proc = subprocess.run(
        [python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *pytest_args, "-rs"],
        cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode not in (0, 5):
        raise CollectError("\n".join(proc.stdout.splitlines()[-30:]))
    files: List[str] = []
    tests = 0
    for line in proc.stdout.splitlines():
        line = line.strip()
        match = _NODE.match(line)
        if match:
            tests += int(match.group(2)) if match.group(2) else 1
        else:
            match = _SKIPPED_MODULE.match(line)
            if match:
                tests += 1  # at least one test the guest may run
        if match and match.group(1) not in files:
            files.append(match.group(1))
    return files, tests
