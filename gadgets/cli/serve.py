"""``pybpf serve``: gadgets as a Prometheus endpoint.

One process serves several gadgets (named on the command line or in a
JSON file, see :mod:`.config`) on one ``/metrics``. Everything that can be
wrong with the input is found before the first program is attached: the
plan (gadgets, keys, fields, types), each gadget's parameters and filters,
whether each can run on this kernel, and the listening socket (bound
first, so a port in use is refused early). SIGTERM or SIGINT (or
``--timeout``) stops it: the endpoint closes, every reader ends, every
program is detached.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any, List, Optional, Sequence, Tuple

from ..common.errors import GadgetUnavailableError
from ..metrics import config
from ..metrics.feeds import Feed, feed_for, lost_counter
from ..metrics.registry import Registry
from ..metrics.server import MetricsServer


def _health(feeds: Sequence[Feed]) -> Tuple[bool, str]:
    failed = [f.error for f in feeds if f.error]
    return (not failed, "\n".join(failed) if failed else "ok")  # type: ignore[arg-type]


def _prepare(args: argparse.Namespace) -> Tuple[config.ServePlan, List[Feed], MetricsServer]:
    """Plan, make the runs (not started) and bind the endpoint; raises on bad input."""
    doc = config.read_file(args.config) if args.config else {}
    plan = config.plan(doc, f"--config {args.config}" if args.config else "pybpf serve",
                       args.gadgets, listen=args.listen, interval=args.interval,
                       max_series=args.max_series, container=args.container or ())
    for gp in plan.gadgets:
        ok, why = gp.gadget.can_run()
        if not ok:
            raise GadgetUnavailableError(f"gadget {gp.gadget.name}: {why}")
    registry = Registry(plan.max_series)
    lost = lost_counter(registry)
    feeds = [feed_for(gp, registry, lost) for gp in plan.gadgets]
    server = MetricsServer(registry, plan.host, plan.port, health=lambda: _health(feeds))
    return plan, feeds, server


def _run(feeds: Sequence[Feed], server: MetricsServer, timeout: Optional[float]) -> int:
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    started: List[Feed] = []
    try:
        for feed in feeds:
            if stop.is_set():
                break
            feed.start()
            started.append(feed)
        server.start()
        host, port = server.address
        shown = f"[{host}]" if ":" in host else host
        print(f"pybpf serve: {', '.join(f.gadget.name for f in feeds)} on "
              f"http://{shown}:{port}/metrics", file=sys.stderr, flush=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not stop.wait(0.2):
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        server.close()
        for feed in feeds:
            feed.stop()
        for feed in started:
            feed.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def serve(args: argparse.Namespace) -> int:
    from pybpf.cli import one_line
    from pybpf.errors import BPFError

    try:
        _, feeds, server = _prepare(args)
    except (BPFError, ValueError, OSError) as exc:
        print(f"pybpf serve: {one_line(exc)}", file=sys.stderr)
        return 1
    try:
        return _run(feeds, server, args.timeout)
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
                   help=f"where to serve /metrics and /healthz (default {config.DEFAULT_LISTEN})")
    p.add_argument("--interval", type=float, metavar="S",
                   help=f"seconds between map reads of top and profile gadgets "
                        f"(default {config.DEFAULT_INTERVAL:g})")
    p.add_argument("--max-series", type=int, metavar="N",
                   help="series per metric before new label sets fold into __overflow__ "
                        "(default 10000)")
    p.add_argument("-c", "--container", action="append", metavar="NAME",
                   help="only these containers (repeatable), for gadgets that set none")
    p.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="serve gadgets as Prometheus metrics",
                              description="Serve gadgets as Prometheus metrics (/metrics, "
                                          "/healthz); see docs/metrics.md.")
    add_arguments(p)
    p.set_defaults(func=serve)
