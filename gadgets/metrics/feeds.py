"""Reader threads: each turns one started gadget run into metric updates.

A feed owns its gadget run (``session``): :meth:`Feed.start` attaches it (in
the caller's thread, so a failure is reported before serving) and starts
the thread; :meth:`Feed.stop` asks the run to end; :meth:`Feed.close`
joins the thread and detaches everything. A feed whose thread fails keeps
the error (``/healthz`` reports it); the other feeds go on.

- :class:`TraceFeed` counts every event of a trace gadget by its label
  fields, and the events the BPF side could not output;
- :class:`TopFeed` reads a top gadget's rows every interval (the kernel map
  is emptied as it is read) and adds them to counters; a gauge holds the
  last interval's number of rows per label set;
- :class:`ProfileFeed` reads a profile gadget's log2 histograms every
  interval (running totals in the kernel) and adds what grew since the
  last reading to a Prometheus histogram.
"""
from __future__ import annotations

import collections
import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..common.filters import get_path
from ..common.gadget import Gadget
from . import families as fam
from . import log2
from .monotonic import Increments
from .registry import Labels, Registry

LOST = "pybpf_gadget_lost_events_total"
HIST_MAP = "hists"  # the profile gadgets' map of struct hist (gadget/histogram.h)


def label_value(event: Mapping[str, Any], path: str) -> str:
    value = get_path(event, path)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def label_tuple(event: Mapping[str, Any], paths: Sequence[str]) -> Labels:
    return tuple(label_value(event, p) for p in paths)


class Feed:
    """One gadget run and the thread that feeds its metrics."""

    def __init__(self, gadget: Gadget, session: Any, interval: float) -> None:
        self.gadget = gadget
        self.session = session
        self.interval = interval
        self.error: Optional[str] = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self.session.start()
        self._thread = threading.Thread(target=self._guarded, name=f"pybpf-{self.gadget.name}",
                                        daemon=True)
        self._thread.start()

    def _guarded(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # kept for /healthz; the other gadgets go on
            from pybpf.cli import one_line
            self.error = f"{self.gadget.name}: {one_line(exc)}"

    def _loop(self) -> None:
        raise NotImplementedError

    def _every_interval(self) -> bool:
        """Wait one interval; False once the run is stopped."""
        return not self.session.wait(self.interval)

    def stop(self) -> None:
        self.session.stop()

    def close(self) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.session.close()


class TraceFeed(Feed):
    """``pybpf_<gadget>_events_total{labels}`` and the lost-event counter."""

    def __init__(self, gadget: Gadget, session: Any, interval: float, registry: Registry,
                 labels: Sequence[str], lost: Any) -> None:
        super().__init__(gadget, session, interval)
        self.paths = tuple(labels)
        self.events = registry.counter(
            fam.metric_name(gadget, "events_total"), f"{gadget.name} events: {gadget.description}",
            [fam.label_name(p) for p in self.paths])
        self.lost = lost
        lost.inc((gadget.name,), 0)
        session.on_lost = lambda delta, total: lost.inc((gadget.name,), delta)

    def _loop(self) -> None:
        paths, inc = self.paths, self.events.inc_many
        for batch in self.session.batches():
            if batch:
                inc(collections.Counter(label_tuple(e, paths) for e in batch))


class TopFeed(Feed):
    """A counter per count column, and a gauge of the last interval's rows."""

    def __init__(self, gadget: Gadget, session: Any, interval: float, registry: Registry,
                 labels: Sequence[str]) -> None:
        super().__init__(gadget, session, interval)
        spec = fam.TOP[gadget.name]
        self.paths = tuple(labels)
        names = [fam.label_name(p) for p in self.paths]
        self.counters = [(c, registry.counter(fam.metric_name(gadget, c.suffix), c.help, names))
                         for c in spec.counters]
        self.rows = registry.gauge(fam.metric_name(gadget, spec.rows), spec.rows_help, names)

    def _loop(self) -> None:
        while self._every_interval():
            self.add(self.session.collect())

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add one interval's rows (what the kernel counted since the last read)."""
        sums: Dict[Labels, List[float]] = {}
        seen: Dict[Labels, int] = collections.Counter()
        for row in rows:
            if not self.session.keep(row):
                continue
            key = label_tuple(row, self.paths)
            acc = sums.setdefault(key, [0] * len(self.counters))
            for i, (c, _) in enumerate(self.counters):
                acc[i] += (row.get(c.field) or 0) * c.scale
            seen[key] += 1
        for i, (_, counter) in enumerate(self.counters):
            counter.inc_many({k: v[i] for k, v in sums.items()})
        self.rows.replace(seen)


class ProfileFeed(Feed):
    """``pybpf_<gadget>_<what>_seconds`` histograms from the log2 slot maps."""

    def __init__(self, gadget: Gadget, session: Any, interval: float,
                 registry: Registry) -> None:
        super().__init__(gadget, session, interval)
        self.spec = fam.PROFILE[gadget.name]
        params = session.params
        self.grouped = self.spec.grouped(params)
        self.scale = log2.UNIT_SECONDS["msecs" if params.get("milliseconds") else "usecs"]
        self.hist: Any = None
        self.registry = registry
        self.increments: Increments[Labels] = Increments()

    def start(self) -> None:
        """Attach, then make the histogram: its bounds follow the object's
        slot count (struct hist in its BTF). An ungrouped run shows an empty
        series from the start, so the first scrape already has it."""
        self.session.start()
        codec = self.session.struct_codec(self.gadget.event_struct)
        slots = len(codec.decode(bytes(codec.size))["slots"])
        self.hist = self.registry.histogram(
            fam.metric_name(self.gadget, self.spec.suffix), self.spec.help,
            [self.spec.label] if self.grouped else [], log2.bounds(slots, self.scale))
        if not self.grouped:
            self.hist.add((), [0] * slots, 0)
        super().start()

    def _loop(self) -> None:
        while self._every_interval():
            self.add(self.session.map_items(HIST_MAP))

    def add(self, pairs: Sequence[Tuple[Mapping[str, Any], Mapping[str, Any]]]) -> None:
        """One reading of the histogram map: (key, struct hist) pairs, totals so far."""
        totals: Dict[Labels, List[int]] = {}
        for key, h in pairs:
            labels = (self.spec.key_label(self.session.params, key),) if self.grouped else ()
            vec = list(h["slots"]) + [h["total"]]
            acc = totals.get(labels)
            totals[labels] = vec if acc is None else [a + b for a, b in zip(acc, vec)]
        for labels, vec in totals.items():
            step = self.increments.step(labels, vec)
            if any(step[:-1]):
                self.hist.add(labels, [int(c) for c in step[:-1]], step[-1] * self.scale)


def lost_counter(registry: Registry) -> Any:
    return registry.counter(LOST, "events a trace gadget's BPF side could not output "
                            "(ring buffer full)", ("gadget",))


def feed_for(plan: Any, registry: Registry, lost: Any) -> Feed:
    """The feed of one planned gadget (config.GadgetPlan): its run is made
    here, which checks its parameters and filters, and not yet started."""
    from ..common.session import open_session

    gadget = plan.gadget
    session = open_session(gadget, **plan.options)
    if gadget.category == "trace":
        return TraceFeed(gadget, session, plan.interval, registry, plan.labels, lost)
    if gadget.category == "top":
        return TopFeed(gadget, session, plan.interval, registry, plan.labels)
    return ProfileFeed(gadget, session, plan.interval, registry)
