"""Command-line parsing of python3 -m vmtests (no VM is booted)."""
from __future__ import annotations

import pytest

from vmtests import __main__ as cli


def test_pytest_arguments_follow_the_double_dash():
    assert cli._split(["run", "6.1", "--", "-q", "-k", "x"]) == (["run", "6.1"], ["-q", "-k", "x"])
    assert cli._split(["run", "6.1"]) == (["run", "6.1"], None)


@pytest.mark.parametrize("argv", [
    ["run", "--all", "-m", "vm"],
    ["run", "-e", "NOEQUALS", "6.1"],
    ["run", "--all", "6.1", "--", "-q"],
    ["fetch", "6.1", "--", "-q"],
])
def test_conflicting_arguments_are_usage_errors(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert "vmtests" in capsys.readouterr().err
