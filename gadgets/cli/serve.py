"""``pybpf serve``: gadgets as a Prometheus endpoint (see docs/metrics.md).

One process serves several gadgets, named on the command line or in a JSON
file, on one ``/metrics``; :mod:`..metrics.service` does the work. This
module only builds the parser, which every `pybpf` command builds, so it
imports nothing heavy (no http.server, no gadget) until ``serve`` runs.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..metrics.defaults import DEFAULT_INTERVAL, DEFAULT_LISTEN, DEFAULT_MAX_SERIES


def serve(args: argparse.Namespace) -> int:
    from pybpf.cli import one_line
    from pybpf.errors import BPFError

    from ..metrics import service  # http.server and the gadgets: only when serving

    try:
        _, feeds, server = service.prepare(args)
    except (BPFError, ValueError, OSError) as exc:
        print(f"pybpf serve: {one_line(exc)}", file=sys.stderr)
        return 1
    try:
        return service.run(feeds, server, args.timeout)
    except (BPFError, ValueError, OSError) as exc:
        print(f"pybpf serve: {one_line(exc)}", file=sys.stderr)
        return 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("gadgets", nargs="*", metavar="GADGET[:FIELD,...]",
                   help="gadgets to serve, optionally with the fields their series are "
                        "labelled by (default: container and outcome; top gadgets: their "
                        "row keys)")
    p.add_argument("--config", metavar="FILE", help="JSON file: listen, interval, max_series, "
                   "gadgets {NAME: {labels, params, interval, container, filters, ...}}")
    p.add_argument("--listen", metavar="ADDR:PORT",
                   help=f"where to serve /metrics and /healthz (default {DEFAULT_LISTEN})")
    p.add_argument("--interval", type=float, metavar="S",
                   help=f"seconds between map reads of top and profile gadgets "
                        f"(default {DEFAULT_INTERVAL:g})")
    p.add_argument("--max-series", type=int, metavar="N",
                   help="series per metric before new label sets fold into __overflow__ "
                        f"(default {DEFAULT_MAX_SERIES})")
    p.add_argument("-c", "--container", action="append", metavar="NAME",
                   help="only these containers (repeatable), for gadgets that set none")
    p.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="serve gadgets as Prometheus metrics",
                              description="Serve gadgets as Prometheus metrics (/metrics, "
                                          "/healthz); see docs/metrics.md.")
    add_arguments(p)
    p.set_defaults(func=serve)
