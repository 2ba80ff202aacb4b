"""`pybpf run GADGET [options]`: run one gadget, print its events.

A thin layer over gadgets.common.runner.GadgetRun: options become the run's
arguments, events go to a JSON or column writer, Ctrl-C (or SIGTERM, or
--timeout) ends the run cleanly.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any, List, NoReturn

if TYPE_CHECKING:
    from gadgets.common.gadget import Gadget


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


def _fields(gadget: "Gadget", text: Any) -> List[str]:
    if not text:
        return []
    names = [f.strip() for f in text.split(",") if f.strip()]
    for name in names:
        gadget.field(name)  # raises on an unknown field
    return names


def run(args: argparse.Namespace) -> int:
    from gadgets import registry
    from gadgets.common.output import ColumnWriter, JSONWriter
    from gadgets.common.runner import GadgetRun

    gadget = registry.get(args.gadget)
    opts = gadget_parser(gadget).parse_args(args.args)
    fields = _fields(gadget, opts.fields)
    writer = (JSONWriter(fields) if opts.output == "json" else ColumnWriter(gadget, fields))
    params = {p.name: getattr(opts, f"param_{p.name}") for p in gadget.params}
    session = (gadget.runner or GadgetRun)(
        gadget, container=opts.container, host=opts.host, pid=opts.pid, tid=opts.tid,
        uid=opts.uid, gid=opts.gid, comm=opts.comm, params=params, filters=opts.filter,
        timeout=opts.timeout, on_lost=writer.lost, ring_size=opts.ring_size)
    previous = signal.signal(signal.SIGTERM, lambda *_: session.stop())
    try:
        with session:
            writer.header()
            try:
                for batch in session.batches():
                    for event in batch:
                        writer.event(event)
                    writer.flush()
            except KeyboardInterrupt:
                session.check_lost()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="run a gadget (pybpf run GADGET --help for its options)",
                              add_help=False)
    p.add_argument("gadget", help="gadget name (see pybpf list)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the gadget's options")
    p.set_defaults(func=run)
