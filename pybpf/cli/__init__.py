"""The `pybpf` command: dispatch to one module per subcommand.

Every module in this package that defines ``register(subparsers)`` adds a
subcommand; its parser sets ``func(args) -> int``. Errors that pybpf raises on
purpose (BPFError) are printed as one line on stderr with a non-zero exit,
never as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import List, Optional

from pybpf.errors import BPFError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pybpf", description="pure-Python eBPF loader and gadgets")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def one_line(exc: BaseException) -> str:
    """The first line of an error's text (the CLI never prints tracebacks)."""
    summary = getattr(exc, "summary", None)
    text = summary() if callable(summary) else str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
