"""Increments from kernel readings, so exported counters only go up.

Gadgets aggregate in BPF maps in one of two ways: a top gadget empties its
map at every read (each reading is the increment since the last one), a
profile gadget leaves it (each reading is the total since the start).
:class:`Increments` turns the second kind into the first: it remembers the
last total per key and returns what was added since. A total that went
down (the map was emptied, or an entry evicted and created again) starts
over: the whole new total is the increment, as Prometheus treats a counter
reset.
"""
from __future__ import annotations

from typing import Dict, Generic, Hashable, List, Sequence, Tuple, TypeVar

K = TypeVar("K", bound=Hashable)


class Increments(Generic[K]):
    """Per-key increments of running totals (a number, or a vector of numbers
    such as histogram slots plus their sum)."""

    def __init__(self) -> None:
        self._last: Dict[K, Tuple[float, ...]] = {}

    def step(self, key: K, total: Sequence[float]) -> List[float]:
        """The increment of ``total`` since the last step of ``key``."""
        now = tuple(total)
        last = self._last.get(key)
        self._last[key] = now
        if last is None or len(last) != len(now) or any(n < p for n, p in zip(now, last)):
            return list(now)
        return [n - p for n, p in zip(now, last)]
