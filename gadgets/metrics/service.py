"""One `pybpf serve` run: from its options to feeds and an endpoint, then
serving until a signal.

Everything that can be wrong with the input is found in :func:`prepare`,
before the first program is attached: the plan (gadgets, keys, fields,
types), each gadget's parameters and filters, whether each can run on this
kernel, and the listening socket (bound first, so a port in use is refused
early). :func:`run` attaches, serves, and on SIGTERM or SIGINT (or the
timeout) closes the endpoint, ends every reader and detaches every program.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import List, Optional, Sequence, Tuple

from ..common.errors import GadgetUnavailableError
from . import config
from .feeds import Feed, feed_for, lost_counter
from .registry import Registry
from .server import MetricsServer


def _health(feeds: Sequence[Feed]) -> Tuple[bool, str]:
    failed = [f.error for f in feeds if f.error]
    return (not failed, "\n".join(failed) if failed else "ok")  # type: ignore[arg-type]


def prepare(args: argparse.Namespace) -> Tuple[config.ServePlan, List[Feed], MetricsServer]:
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


def run(feeds: Sequence[Feed], server: MetricsServer, timeout: Optional[float]) -> int:
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
