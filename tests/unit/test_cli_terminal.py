"""pybpf.cli.terminal_size answers as shutil.get_terminal_size does (without importing it),
and the command's help is formatted to that width."""
from __future__ import annotations

import shutil

import pytest

from pybpf.cli import build_parser, terminal_size


@pytest.mark.parametrize("env", [{}, {"COLUMNS": "123"}, {"LINES": "7"},
                                 {"COLUMNS": "91", "LINES": "33"}, {"COLUMNS": "x"},
                                 {"COLUMNS": "0", "LINES": "-4"}])
@pytest.mark.parametrize("fallback", [(80, 24), (160, 24)])
def test_same_answer_as_shutil(monkeypatch, env, fallback):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert terminal_size(fallback) == tuple(shutil.get_terminal_size(fallback))


def test_help_is_wrapped_to_the_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    text = build_parser("load").format_help()
    assert max(map(len, text.splitlines())) <= 48
    monkeypatch.setenv("COLUMNS", "200")
    assert max(map(len, build_parser("load").format_help().splitlines())) > 50
