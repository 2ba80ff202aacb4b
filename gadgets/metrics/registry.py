"""Metric families and their series, safe to update from reader threads.

A :class:`Registry` owns every family and one lock. Readers update series
through their family (``Counter.inc``, ``Gauge.replace``, ``Histogram.add``);
each update holds the lock only to touch a dict. :meth:`Registry.snapshot`
copies every series under the lock and returns plain data, so rendering
(and a slow client) never holds it.

Cardinality: a family keeps at most ``max_series`` label sets. An update for
a new label set beyond that goes to one overflow series (every label value
``__overflow__``), so sums over a metric stay right, and
``pybpf_metrics_dropped_series_total{metric=...}`` counts the updates that
were folded there.
"""
from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .defaults import DEFAULT_MAX_SERIES

Labels = Tuple[str, ...]

OVERFLOW = "__overflow__"
DROPPED = "pybpf_metrics_dropped_series_total"

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class FamilySnapshot:
    """One family as rendered: ``series`` maps label values to a number
    (counter, gauge) or to ``(bucket counts, sum)`` (histogram: counts per
    bound, not cumulative, the last one for +Inf)."""

    name: str
    help: str
    kind: str
    label_names: Labels
    bounds: Tuple[float, ...]
    series: Dict[Labels, object]


class _Family:
    kind = ""

    def __init__(self, registry: "Registry", name: str, help: str, label_names: Sequence[str],
                 max_series: int) -> None:
        if not _NAME.match(name):
            raise ValueError(f"metric name {name!r} is not a Prometheus name")
        for label in label_names:
            if not _LABEL.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"metric {name}: label name {label!r} is not allowed")
        if len(set(label_names)) != len(label_names):
            raise ValueError(f"metric {name}: label names repeat: {list(label_names)}")
        self.registry = registry
        self.name = name
        self.help = help
        self.label_names: Labels = tuple(label_names)
        self.max_series = max_series
        self.bounds: Tuple[float, ...] = ()
        self._series: Dict[Labels, object] = {}
        self._lock = registry.lock

    def _check(self, labels: Labels) -> Labels:
        if len(labels) != len(self.label_names):
            raise ValueError(f"metric {self.name}: {len(labels)} label values for "
                             f"{len(self.label_names)} names {list(self.label_names)}")
        return labels

    def _slot(self, labels: Labels) -> Labels:
        """The series an update of ``labels`` goes to (lock held): itself while
        under the cap, else the overflow series (the drop counted)."""
        if labels in self._series or len(self._series) < self.max_series:
            return labels
        self.registry._dropped(self.name)
        return (OVERFLOW,) * len(self.label_names)

    def _copy(self) -> Dict[Labels, object]:
        return dict(self._series)


class Counter(_Family):
    """A total that only goes up."""

    kind = "counter"

    def inc(self, labels: Labels = (), amount: float = 1) -> None:
        self.inc_many({labels: amount})

    def inc_many(self, amounts: Mapping[Labels, float]) -> None:
        """Add ``amount`` to each series (one lock hold for the whole batch)."""
        for labels, amount in amounts.items():
            self._check(labels)
            if not amount >= 0:  # also refuses NaN
                raise ValueError(f"counter {self.name}: increment {amount!r} is negative")
        with self._lock:
            series = self._series
            for labels, amount in amounts.items():
                key = self._slot(labels)
                series[key] = series.get(key, 0) + amount

    def value(self, labels: Labels = ()) -> float:
        with self._lock:
            return self._series.get(labels, 0)  # type: ignore[return-value]


class Gauge(_Family):
    """A value that goes up and down; :meth:`replace` swaps the whole set, so
    label sets absent from the latest reading disappear."""

    kind = "gauge"

    def set(self, labels: Labels, value: float) -> None:
        self._check(labels)
        with self._lock:
            self._series[self._slot(labels)] = value

    def replace(self, values: Mapping[Labels, float]) -> None:
        for labels in values:
            self._check(labels)
        with self._lock:
            self._series = {}
            for labels, value in values.items():
                key = self._slot(labels)
                self._series[key] = self._series.get(key, 0) + value


class Histogram(_Family):
    """Observations in buckets with upper bounds ``bounds`` (plus +Inf), and their sum."""

    kind = "histogram"

    def __init__(self, registry: "Registry", name: str, help: str, label_names: Sequence[str],
                 max_series: int, bounds: Sequence[float]) -> None:
        super().__init__(registry, name, help, label_names, max_series)
        bounds = tuple(float(b) for b in bounds)
        if any(not math.isfinite(b) for b in bounds) or list(bounds) != sorted(set(bounds)):
            raise ValueError(f"histogram {name}: bounds must be finite and increasing")
        self.bounds = bounds

    def add(self, labels: Labels, counts: Sequence[int], total: float) -> None:
        """Add per-bucket counts (``len(bounds) + 1`` of them, not cumulative;
        the last is above the last bound) and their sum ``total``."""
        self._check(labels)
        if len(counts) != len(self.bounds) + 1:
            raise ValueError(f"histogram {self.name}: {len(counts)} bucket counts for "
                             f"{len(self.bounds) + 1} buckets")
        if any(c < 0 for c in counts) or not total >= 0:
            raise ValueError(f"histogram {self.name}: negative observation counts or sum")
        with self._lock:
            key = self._slot(labels)
            old = self._series.get(key)
            if old is None:
                self._series[key] = (list(counts), float(total))
            else:
                buckets, s = old  # type: ignore[misc]
                for i, c in enumerate(counts):
                    buckets[i] += c
                self._series[key] = (buckets, s + total)

    def _copy(self) -> Dict[Labels, object]:
        return {k: (tuple(b), s) for k, (b, s) in self._series.items()}  # type: ignore[misc]


class Registry:
    """Every family of one endpoint, and the lock their updates share."""

    def __init__(self, max_series: int = DEFAULT_MAX_SERIES) -> None:
        if max_series < 1:
            raise ValueError(f"max_series {max_series}: at least 1")
        self.lock = threading.Lock()
        self.max_series = max_series
        self._families: Dict[str, _Family] = {}
        self._drops = Counter(self, DROPPED, "updates of new label sets folded into the "
                              "__overflow__ series by the per-metric series cap", ("metric",),
                              1 << 30)
        self._families[DROPPED] = self._drops

    def _add(self, family: _Family) -> _Family:
        with self.lock:  # a family may be added while a scrape runs
            if family.name in self._families:
                raise ValueError(f"metric {family.name} is registered twice")
            self._families[family.name] = family
        return family

    def counter(self, name: str, help: str, labels: Sequence[str] = (),
                max_series: Optional[int] = None) -> Counter:
        return self._add(Counter(self, name, help, labels,  # type: ignore[return-value]
                                 max_series or self.max_series))

    def gauge(self, name: str, help: str, labels: Sequence[str] = (),
              max_series: Optional[int] = None) -> Gauge:
        return self._add(Gauge(self, name, help, labels,  # type: ignore[return-value]
                               max_series or self.max_series))

    def histogram(self, name: str, help: str, labels: Sequence[str], bounds: Sequence[float],
                  max_series: Optional[int] = None) -> Histogram:
        return self._add(Histogram(self, name, help, labels,  # type: ignore[return-value]
                                   max_series or self.max_series, bounds))

    def _dropped(self, metric: str) -> None:
        """Count one folded update (the lock is held by the caller)."""
        key = (metric,)
        self._drops._series[key] = self._drops._series.get(key, 0) + 1

    def snapshot(self) -> List[FamilySnapshot]:
        """Every family's series, copied under the lock once (sorted by name)."""
        with self.lock:
            out = []
            for name in sorted(self._families):
                f = self._families[name]
                out.append(FamilySnapshot(f.name, f.help, f.kind, f.label_names, f.bounds,
                                          f._copy()))
        return out
