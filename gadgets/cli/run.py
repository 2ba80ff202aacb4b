"""`pybpf run GADGET [options]`: run one gadget with its full command line.

A gadget module that defines ``main(argv) -> int`` owns its command line (the
top, profile and snapshot gadgets: live tables, ``-o tree``, ``-o folded``,
histograms); the options after the gadget's name go to it unchanged. Every
other gadget (the trace family) runs here, a thin layer over
gadgets.common.runner.GadgetRun: options become the run's arguments, events go
to a JSON or column writer, Ctrl-C (or SIGTERM, or --timeout) ends the run
cleanly. Both paths build on :func:`gadget_parser`, so the common options,
their help and their one-line errors are the same everywhere.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, NoReturn, Optional, Sequence

if TYPE_CHECKING:
    from ..common.gadget import Gadget


class _OneLineParser(argparse.ArgumentParser):
    """Bad options are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def gadget_parser(gadget: "Gadget") -> argparse.ArgumentParser:
    p = _OneLineParser(prog=f"pybpf run {gadget.name}", description=gadget.description)
    p.add_argument("-o", "--output", choices=("columns", "json"), default="columns")
    p.add_argument("--fields", help="comma-separated fields to show (dotted: proc.comm)")
    p.add_argument("--filter", action="append", default=[], metavar="EXPR",
                   help="field=value, !=, <, >, <=, >=, ~regex (repeatable, all must match)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument("-c", "--container", action="append", default=[], metavar="NAME",
                   help="only this container (name, id, cgroup path or mntns id; repeatable)")
    p.add_argument("--host", action="store_true", help="everything on the host (the default)")
    for name in ("pid", "tid", "uid", "gid"):
        p.add_argument(f"--{name}", type=int, help=f"only this {name} (filtered in the kernel)")
    p.add_argument("--comm", help="only this command name (filtered in the kernel)")
    if gadget.category == "trace":  # the others read maps, not a ring buffer
        p.add_argument("--ring-size", type=int, metavar="BYTES",
                       help="ring buffer size (power of two; default: the gadget's)")
    for param in gadget.params:
        if param.type is bool:
            p.add_argument(param.option, dest=f"param_{param.name}", action="store_true",
                           help=param.help)
        else:
            p.add_argument(param.option, dest=f"param_{param.name}", type=param.type,
                           default=param.default, help=param.help,
                           metavar=param.name.upper())
    return p


def parse_fields(gadget: "Gadget", text: Any) -> List[str]:
    """The names of ``--fields`` (comma list); GadgetError on an unknown one."""
    if not text:
        return []
    names = [f.strip() for f in text.split(",") if f.strip()]
    for name in names:
        gadget.field(name)  # raises on an unknown field
    return names


def run_options(gadget: "Gadget", opts: argparse.Namespace) -> Dict[str, Any]:
    """GadgetRun's keyword arguments from :func:`gadget_parser`'s options
    (the gadget's parameters included)."""
    return {"container": opts.container, "host": opts.host, "pid": opts.pid, "tid": opts.tid,
            "uid": opts.uid, "gid": opts.gid, "comm": opts.comm, "filters": opts.filter,
            "timeout": opts.timeout,
            "params": {p.name: getattr(opts, f"param_{p.name}") for p in gadget.params}}


def report_errors(gadget: "Gadget", body: Callable[[], int]) -> int:
    """``body()``, with the errors a user causes (bad field, filter, container,
    parameter; a refused load) as one line on stderr and exit status 1."""
    from pybpf.cli import one_line
    from pybpf.errors import BPFError

    try:
        return body()
    except BrokenPipeError:
        return 0
    except (BPFError, ValueError, OSError) as exc:
        print(f"pybpf run {gadget.name}: {one_line(exc)}", file=sys.stderr)
        return 1


def own_main(gadget: "Gadget") -> Optional[Callable[[Optional[Sequence[str]]], int]]:
    """The ``main(argv)`` of the gadget's module (pybpf_gadgets.NAME), if it has one."""
    module = sys.modules.get(f"{__package__.rpartition('.')[0]}.{gadget.name}")
    if module is None or getattr(module, "GADGET", None) is not gadget:
        return None
    main = getattr(module, "main", None)
    return main if callable(main) else None


def run(args: argparse.Namespace) -> int:
    from .. import registry

    gadget = registry.get(args.gadget)
    main = own_main(gadget)
    if main is not None:
        return int(main(list(args.args)))
    opts = gadget_parser(gadget).parse_args(args.args)
    return report_errors(gadget, lambda: _trace(gadget, opts))


def _trace(gadget: "Gadget", opts: argparse.Namespace) -> int:
    """Stream the events of a ring-buffer gadget until --timeout, SIGTERM or Ctrl-C."""
    from ..common.output import ColumnWriter, JSONWriter
    from ..common.runner import GadgetRun

    fields = parse_fields(gadget, opts.fields)
    writer = (JSONWriter(fields) if opts.output == "json" else ColumnWriter(gadget, fields))
    session = (gadget.runner or GadgetRun)(gadget, **run_options(gadget, opts),
                                           on_lost=writer.lost, ring_size=opts.ring_size)
    previous = signal.signal(signal.SIGTERM, lambda *_: session.stop())
    try:
        with session:
            writer.header()
            try:
                for batch in session.batches():
                    writer.events(batch)
                    writer.flush()
            except KeyboardInterrupt:
                session.check_lost()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


class _RunHelp(argparse.Action):
    """``pybpf run --help``: the usage, then every gadget by category."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                         nargs=0, help="show this help and the gadgets, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> NoReturn:
        from .. import registry

        parser.print_help()
        gadgets = registry.all_gadgets()
        width = max(len(g.name) for g in gadgets)
        print("\ngadgets (pybpf run GADGET --help shows one gadget's options):")
        for g in gadgets:
            print(f"  {g.name:<{width}}  {g.category:<8}  {g.description}")
        raise SystemExit(0)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run", help="run a gadget (pybpf run GADGET --help for its options)", add_help=False,
        description="Run one gadget. Common options: -o, --fields, --filter, --timeout, "
                    "-c/--container, --host, --pid, --tid, --uid, --gid, --comm; top, profile "
                    "and snapshot gadgets add their own (intervals, sorting, -o tree/folded).")
    p.add_argument("-h", "--help", action=_RunHelp)
    p.add_argument("gadget", help="gadget name (see pybpf list)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the gadget's options")
    p.set_defaults(func=run)
