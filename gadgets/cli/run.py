"""`pybpf run GADGET [options]`: any gadget, from its declaration alone.

The options are the session options of every gadget (common.options), one
per gadget parameter, and ``-o`` with the gadget's extra outputs; each value
goes through the parser the library uses too, so a bad one is a one-line
error before anything is loaded. The session comes from
common.session.open_session; gadgets.cli.show prints a trace gadget's
stream of events, gadgets.cli.tables the rows of the others (a live table,
or rows once). Ctrl-C, SIGTERM or
``--timeout`` end a run cleanly.
"""
from __future__ import annotations

import argparse
import os
import sys

try:  # the C module signal wraps: the signal module builds three IntEnums as it is
    # imported (~0.8 ms of every start) to name the numbers this module only passes on
    import _signal as signal
except ImportError:  # pragma: no cover - an interpreter without it
    import signal  # type: ignore[no-redef]

from pybpf.cli import ArgumentParser, one_line
from pybpf.errors import BPFError

from .. import registry
from ..common.gadget import Gadget
from ..common.options import DISPLAY_OPTIONS, SESSION_OPTIONS
from ..common.output import DOCUMENTS, chosen_fields
from ..common.session import Session, open_session
from . import show

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, NoReturn, Optional, Sequence, Tuple

    from ..common.options import Parser

OUTPUTS = ("columns",) + DOCUMENTS


class _OneLineParser(ArgumentParser):
    """Bad options are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def _argument(option: str, parse: Parser) -> Callable[[str], Any]:
    """``parse`` for argparse: its GadgetError becomes argparse's one-line error
    (which names the option already)."""
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:  # GadgetError, or a gadget's own parser's
            message = str(exc)
            if message.startswith(option + " "):
                message = message[len(option) + 1:]
            raise argparse.ArgumentTypeError(message) from None
    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def fields_help(gadget: Gadget) -> str:
    """The field list of ``pybpf run GADGET --help``: name, type, meaning."""
    fields = gadget.all_fields
    width = max(len(f.name) for f in fields)
    lines = ["fields (for --fields and --filter; * shown in columns by default):"]
    for f in fields:
        mark = "*" if f.column else " "
        lines.append(f" {mark}{f.name:<{width}}  {f.type.__name__:<5}  {f.help}")
    return "\n".join(lines)


def _arguments(gadget: Gadget) -> List[Tuple[Tuple[str, ...], Dict[str, Any]]]:
    """Every option of ``pybpf run GADGET``, in order, as add_argument's (option
    strings, keywords)."""
    outputs = OUTPUTS + tuple(o for o in gadget.outputs if o not in OUTPUTS)
    out: List[Tuple[Tuple[str, ...], Dict[str, Any]]] = [
        (("-o", "--output"), dict(dest="output", choices=outputs, default="columns")),
        (("--fields",), dict(dest="fields", help="comma-separated fields to show (dotted: "
                             "proc.comm), or changes to the default: +timestamp,-args")),
    ]
    for o in SESSION_OPTIONS + DISPLAY_OPTIONS:
        if not o.applies_to(gadget.category):
            continue
        names = (o.short, o.option) if o.short else (o.option,)
        if o.switch:
            out.append((names, dict(dest=o.name, action="store_true", help=o.help)))
        elif o.repeat:
            out.append((names, dict(dest=o.name, action="append", default=[], help=o.help,
                                    metavar=o.metavar)))
        else:
            out.append((names, dict(dest=o.name, type=_argument(o.option, o.parse), help=o.help,
                                    metavar=o.metavar or o.name.upper())))
    for param in gadget.params:
        dest = f"param_{param.name}"
        if param.is_switch:
            out.append((param.options, dict(dest=dest, action="store_true", help=param.help)))
        else:
            out.append((param.options, dict(dest=dest, type=_argument(param.option, param.parse),
                                            default=param.default, help=param.help,
                                            metavar=param.name.upper())))
    return out


def _naming(argv: Sequence[str]) -> Callable[[Sequence[str]], bool]:
    """``named(option strings)``: whether a word of ``argv`` may name one of them as
    argparse reads it: whole, a long option's prefix (``--tim``, ``--pid=3``), a short
    one with its value attached (``-cweb``) or among combined flags (``-Tt``)."""
    options = [word for word in argv if len(word) > 1 and word[0] == "-"]
    heads = tuple(word.split("=", 1)[0] for word in options)
    shorts = set("".join(word[1:] for word in options if word[1] != "-"))

    def named(names: Sequence[str]) -> bool:
        return any(n.startswith(heads) or (len(n) == 2 and n[1] in shorts) for n in names)
    return named


def _default(keywords: Dict[str, Any]) -> Any:
    """What argparse leaves in an option's destination when the option is not given."""
    if keywords.get("action") == "store_true":
        return False
    value = keywords.get("default")
    convert = keywords.get("type")
    return convert(value) if isinstance(value, str) and convert is not None else value


def gadget_parser(gadget: Gadget, argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """The command line of ``pybpf run GADGET``. Given the ``argv`` it is to parse, a
    parser of the options those words may name alone (no help texts), the others'
    destinations set as parsing leaves them: it parses ``argv`` as the whole one does
    without making some twenty options a run does not use (each an argparse Action and
    a help formatter). The whole parser for a help (``-h``, ``--he``)."""
    named = _naming(argv) if argv is not None else None
    if named is not None and not named(("-h", "--help")):
        p = _OneLineParser(prog=f"pybpf run {gadget.name}", add_help=False)
        defaults = {}
        for names, keywords in _arguments(gadget):
            if named(names):
                p.add_argument(*names, **keywords)
            else:
                defaults[keywords["dest"]] = _default(keywords)
        p.set_defaults(**defaults)
        return p
    p = _OneLineParser(prog=f"pybpf run {gadget.name}", description=gadget.description,
                       epilog=fields_help(gadget),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    for names, keywords in _arguments(gadget):
        p.add_argument(*names, **keywords)
    return p


def shown_fields(gadget: Gadget, opts: argparse.Namespace) -> Tuple[Optional[List[Any]],
                                                                    List[str]]:
    """What ``--fields`` (and -T, -t) say to show: (columns or paths kept, or
    None for the default; paths dropped from documents)."""
    fields, drop = chosen_fields(gadget, opts.fields, opts.output)
    clock, since = getattr(opts, "time", False), getattr(opts, "timestamp", False)
    times = []
    if clock or since:  # the time columns' module (its calendar, datetime) only for -T, -t
        from ..common.timecolumns import clock_column, since_column
        times = [make() for wanted, make in ((clock, clock_column), (since, since_column))
                 if wanted]
    if times and opts.output == "columns":
        fields = times + list(fields or gadget.default_columns())
    return fields, drop


def session_options(gadget: Gadget, opts: argparse.Namespace) -> Dict[str, Any]:
    """open_session's keywords from :func:`gadget_parser`'s options."""
    out = {o.name: getattr(opts, o.name) for o in SESSION_OPTIONS
           if o.applies_to(gadget.category)}
    out["params"] = {p.name: getattr(opts, f"param_{p.name}") for p in gadget.params}
    return out


def report_errors(gadget: Gadget, body: Callable[[], int]) -> int:
    """``body()``, with the errors a user causes (bad field, filter, container,
    parameter; a refused load) as one line on stderr and exit status 1."""
    try:
        return body()
    except BrokenPipeError:
        return 0
    except (BPFError, ValueError, OSError) as exc:
        print(f"pybpf run {gadget.name}: {one_line(exc)}", file=sys.stderr)
        return 1


def _raise_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def run_gadget(gadget: Gadget, opts: argparse.Namespace) -> int:
    """Open the session the options describe and show what it yields."""
    fields, drop = shown_fields(gadget, opts)
    writer = show.event_writer(gadget, opts.output, fields, drop=drop)
    session: Session = open_session(gadget, **session_options(gadget, opts),
                                    on_lost=writer.lost)

    def on_sigterm(*_: Any) -> None:
        session.stop()
        if gadget.category != "trace":  # leave a live table's or a profile's wait
            _raise_interrupt()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        with session:
            if gadget.category == "trace":
                # Ctrl-C ends the stream between batches, as SIGTERM does: a batch read
                # from the ring is shown whole (received + lost stays the events made)
                interrupt = signal.signal(signal.SIGINT, on_sigterm)
                try:
                    show.stream(session, writer)
                finally:
                    signal.signal(signal.SIGINT, interrupt)
            else:  # a gadget reading maps: its rows' module (with the live table) only then
                from . import tables
                if gadget.category == "top":
                    tables.live_top(session, opts.output, fields, drop=drop)
                else:
                    tables.rows_once(session, opts.output, fields, drop=drop,
                                     max_entries=opts.max_entries)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _joined_fields(argv: Sequence[str]) -> List[str]:
    """``--fields -args`` as ``--fields=-args``: argparse takes a value that
    starts with "-" for an option of its own."""
    out: List[str] = []
    for arg in argv:
        if out and out[-1] == "--fields" and arg[:1] == "-" and len(arg) > 1:
            out[-1] = f"--fields={arg}"
        else:
            out.append(arg)
    return out


def run(args: argparse.Namespace) -> int:
    gadget = registry.get(args.gadget)
    argv = _joined_fields(args.args)
    opts = gadget_parser(gadget, argv).parse_args(argv)
    return report_errors(gadget, lambda: run_gadget(gadget, opts))


class _RunHelp(argparse.Action):
    """``pybpf run --help``: the usage, then every gadget by category."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                         nargs=0, help="show this help and the gadgets, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> NoReturn:
        gadgets = registry.all_gadgets()
        width = max(len(g.name) for g in gadgets)
        lines = ["", "gadgets (pybpf run GADGET --help shows one gadget's options):"]
        lines += [f"  {g.name:<{width}}  {g.category:<8}  {g.description}" for g in gadgets]
        try:
            parser.print_help()
            print("\n".join(lines), flush=True)
        except BrokenPipeError:  # `pybpf run --help | head`: the reader has what it wanted;
            # what is left unwritten goes nowhere (else the flush at exit fails again)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run", help="run a gadget (pybpf run GADGET --help for its options)", add_help=False,
        description="Run one gadget. Common options: -o columns|json|jsonpretty|yaml, "
                    "--fields (a list, or +add,-drop), --filter, --timeout, -c/--container, "
                    "--host, --pid, --tid, --uid, --gid, --comm; -T/-t time columns (trace), "
                    "--max-entries (top, profile, snapshot); gadgets add their own (intervals, "
                    "sorting, -o tree/folded).")
    p.add_argument("-h", "--help", action=_RunHelp)
    p.add_argument("gadget", help="gadget name (see pybpf list)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the gadget's options")
    p.set_defaults(func=run)
