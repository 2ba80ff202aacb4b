"""pybpf's built-in subcommands, named in a literal tuple, match the package's modules."""
from pathlib import Path

from pybpf import cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_builtin_commands_are_the_modules_that_register_one():
    """BUILTIN is written out (no package listing at start): it names exactly the
    modules of pybpf.cli that define register()."""
    folder = ROOT / "pybpf" / "cli"
    registering = sorted(p.stem for p in folder.glob("*.py")
                         if "\ndef register(" in p.read_text())
    assert sorted(cli.BUILTIN) == registering
