"""The `pybpf` command: dispatch to one module per subcommand.

Each module of this package named in BUILTIN defines ``register(subparsers)``,
which adds its subcommand; its parser sets ``func(args) -> int``. Other installed packages
add theirs (the gadgets' `pybpf run` and `pybpf list`) through the
``pybpf.commands`` entry-point group, each entry naming such a ``register``;
the library itself never imports them. Errors that pybpf raises on purpose
(BPFError) are printed as one line on stderr with a non-zero exit, never as a
traceback.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys

from pybpf.entrypoints import entry_points
from pybpf.errors import BPFError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple

COMMANDS_GROUP = "pybpf.commands"
#: the built-in subcommands, one module each (a literal: listing the package with
#: pkgutil would import inspect, a few milliseconds of every start)
BUILTIN = ("explain", "load")


def terminal_size(fallback: Tuple[int, int] = (80, 24)) -> Tuple[int, int]:
    """(columns, lines) of the terminal as ``shutil.get_terminal_size(fallback)`` answers
    ($COLUMNS/$LINES, else the terminal stdout writes to, else ``fallback``), without
    importing shutil (with zlib, bz2 and lzma: a few milliseconds of every start)."""
    size = []
    for name in ("COLUMNS", "LINES"):
        try:
            size.append(int(os.environ.get(name, "0")))
        except ValueError:
            size.append(0)
    columns, lines = size
    if columns <= 0 or lines <= 0:
        try:
            asked = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            asked = os.terminal_size((0, 0))
        columns = columns if columns > 0 else asked.columns
        lines = lines if lines > 0 else asked.lines
    return columns or fallback[0], lines or fallback[1]


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser with its help formatter told the width (argparse would import
    shutil to ask); the subcommands' parsers are of this class too, and so should be
    the parsers commands build on their own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        formatter = kwargs.get("formatter_class", argparse.HelpFormatter)

        def sized(prog: str) -> argparse.HelpFormatter:
            made: argparse.HelpFormatter = formatter(prog, width=terminal_size()[0] - 2)
            return made  # argparse keeps 2 columns free

        kwargs["formatter_class"] = sized
        super().__init__(*args, **kwargs)


def _unavailable(name: str, exc: Exception) -> Any:
    """The ``func`` of a registered command whose module does not load."""
    def func(args: argparse.Namespace) -> int:
        raise BPFError(f"command {name} cannot be loaded: {type(exc).__name__}: {exc}")
    return func


def version() -> str:
    """The installed distribution's version; ``pybpf.__version__`` when not installed."""
    import importlib.metadata  # only for --version

    try:
        return importlib.metadata.version("pybpf")
    except importlib.metadata.PackageNotFoundError:
        import pybpf
        return pybpf.__version__


class _VersionAction(argparse.Action):
    """``--version``: print ``pybpf VERSION`` and exit (the metadata read only then)."""

    def __init__(self, option_strings: List[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "print the version and exit"):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> None:
        print(f"pybpf {version()}")
        parser.exit()


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The parser of every command; with ``command``, of that one alone when it can
    be found without the others (a built-in module of that name, else the entry
    point of that name), so a run imports only the command it runs."""
    if command is not None:
        parser = _parser(command)
        if command in _choices(parser):
            return parser
    return _parser(None)


def _parser(only: Optional[str]) -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="pybpf", description="pure-Python eBPF loader and gadgets")
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in BUILTIN:
        if only is not None and name != only:
            continue
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    if only is not None and only in BUILTIN:
        return parser  # a built-in command keeps its name: no entry point is asked
    for ep in sorted(entry_points(COMMANDS_GROUP), key=lambda e: e.name):
        if ep.name in subparsers.choices or (only is not None and ep.name != only):
            continue  # a built-in command keeps its name
        try:
            ep.load()(subparsers)
        except Exception as exc:  # a broken plug-in must not take `pybpf load` down with it
            p = subparsers.add_parser(ep.name, help=f"(cannot be loaded: {type(exc).__name__})")
            p.add_argument("args", nargs=argparse.REMAINDER)
            p.set_defaults(func=_unavailable(ep.name, exc))
    return parser


def _choices(parser: argparse.ArgumentParser) -> Any:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def one_line(exc: BaseException) -> str:
    """The first line of an error's text (the CLI never prints tracebacks)."""
    summary = getattr(exc, "summary", None)
    text = summary() if callable(summary) else str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def main(argv: Optional[List[str]] = None, *, collector_paused: bool = False) -> int:
    """Run the command line; ``collector_paused``: the caller disabled the garbage
    collector before importing pybpf (the console script, pybpf_launch), and it is to
    run again once start-up's objects are frozen."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and not argv[0].startswith("-") else None
    # the parsers and the command's modules (a gadget's) live as long as the run: no
    # collection while they are made, then they are frozen, so that the collections of
    # the run itself do not walk them (pybpf_launch says why)
    # (only in a process the command line owns: a caller's heap is not ours to freeze)
    collecting = gc.isenabled() or collector_paused
    gc.disable()
    try:
        parser = build_parser(command)
        args = parser.parse_args(argv)
    finally:
        if collector_paused:
            gc.freeze()
        if collecting:
            gc.enable()
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except BPFError as exc:
        print(f"pybpf {args.command}: {one_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"pybpf {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
