"""`pybpf --version`: the installed distribution's version, pybpf.__version__ otherwise."""
from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

import pybpf
from pybpf import cli


def test_version_is_the_distribution_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"pybpf {metadata.version('pybpf')}\n"


def test_version_falls_back_to_the_package(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert cli.version() == pybpf.__version__


def test_version_from_the_command_line():
    out = subprocess.run([sys.executable, "-m", "pybpf", "--version"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.strip() == f"pybpf {cli.version()}"


def test_package_version_matches_pyproject():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', text, re.M).group(1) == pybpf.__version__
