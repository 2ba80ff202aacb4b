"""Log2 slot counts (gadget/histogram.h) as Prometheus histogram buckets.

The BPF side counts an integer value ``v`` into slot ``log2(v)`` (0 and 1 in
slot 0, ``2**i .. 2**(i+1)-1`` in slot ``i``) and clamps to the last slot.
The values are durations truncated to whole units, so slot ``i`` holds
durations below ``2**(i+1)`` units: that is the bucket's ``le`` bound (in
seconds, the Prometheus base unit, after ``scale``). The last slot holds
everything above, so it has no finite bound: its counts go to ``+Inf``.
"""
from __future__ import annotations

from typing import Tuple

#: Seconds per unit of the profile gadgets' histograms.
UNIT_SECONDS = {"usecs": 1e-6, "msecs": 1e-3, "nsecs": 1e-9}


def bounds(slots: int, scale: float) -> Tuple[float, ...]:
    """The ``le`` bounds of a ``slots``-slot histogram, in units times ``scale``."""
    return tuple((1 << (i + 1)) * scale for i in range(slots - 1))

