"""Power-of-two histograms: bucket bounds, text bar charts and json buckets.

The BPF side counts a value ``v`` into slot ``log2(v)`` (slot 0 holds 0 and 1,
slot 1 holds 2..3, slot ``i`` holds ``2**i .. 2**(i+1)-1``); :func:`log2_slot`
is the same rule in Python. This module turns a list of slot counts into the
text chart the libbpf-tools print (``low -> high : count |****|``) or into a
list of json-ready buckets, and writes the rows of the profile gadgets as text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any, Callable, Dict, List, Sequence

BAR_WIDTH = 40


@dataclass(frozen=True)
class Bucket:
    """One histogram slot: values in ``[low, high]`` seen ``count`` times."""

    low: int
    high: int
    count: int

    def to_json(self) -> Dict[str, int]:
        return {"low": self.low, "high": self.high, "count": self.count}


def log2_slot(value: int) -> int:
    """The slot a value lands in (the BPF programs' rule): 0 and 1 -> 0."""
    if value <= 1:
        return 0
    return value.bit_length() - 1


def slot_bounds(index: int) -> "tuple[int, int]":
    """Inclusive ``(low, high)`` of slot ``index``."""
    if index < 0:
        raise ValueError(f"histogram slot {index} is negative")
    if index == 0:
        return 0, 1
    return 1 << index, (1 << (index + 1)) - 1


def buckets(slots: Sequence[int], trim: bool = True) -> List[Bucket]:
    """Buckets of a slot list; ``trim`` drops the empty tail after the last count."""
    last = len(slots) - 1
    if trim:
        while last >= 0 and slots[last] == 0:
            last -= 1
    out = []
    for i in range(last + 1):
        low, high = slot_bounds(i)
        out.append(Bucket(low, high, int(slots[i])))
    return out


def to_json(slots: Sequence[int], unit: str) -> Dict[str, object]:
    """A json-ready histogram: ``{"unit": ..., "total": n, "buckets": [...]}``."""
    bks = buckets(slots)
    return {"unit": unit, "total": sum(b.count for b in bks),
            "buckets": [b.to_json() for b in bks]}


def _bar(count: int, peak: int, width: int) -> str:
    if peak <= 0:
        return " " * width
    stars = count * width // peak
    if count and stars == 0:
        stars = 1  # a non-empty bucket always shows
    return "*" * stars + " " * (width - stars)


def format_log2(slots: Sequence[int], unit: str, width: int = BAR_WIDTH) -> str:
    """The text bar chart of a log2 histogram, one line per slot up to the last count.

    Returns an empty string when every slot is zero.
    """
    bks = buckets(slots)
    if not bks:
        return ""
    peak = max(b.count for b in bks)
    span = max(len(str(bks[-1].high)), 5)
    count_w = max(len(str(peak)), 8)
    left = 2 * span + 4  # "low -> high"
    head = f"{unit:>{span + 4}}".ljust(left) + " : " + "count".ljust(count_w) + " distribution"
    lines = [head]
    for b in bks:
        rng = f"{b.low:>{span}} -> {b.high:<{span}}"
        lines.append(f"{rng} : {b.count:<{count_w}} |{_bar(b.count, peak, width)}|")
    return "\n".join(lines)


def row_text(row: Dict[str, Any], head: str, noun: str) -> str:
    """A profile row (``histogram``, ``average``, ``count``) as text under the line ``head``."""
    h = row["histogram"]
    slots = [b["count"] for b in h["buckets"]]
    return (head + format_log2(slots, h["unit"]) +
            f"\naverage = {row['average']} {h['unit']}, {noun} = {row['count']}\n")


def empty_row(key: str, unit: str) -> Dict[str, Any]:
    """The row of a histogram profile that sampled nothing: one histogram for
    everything (``key`` empty) with no buckets, so every output shows a
    result (``-o json`` one object with ``"count": 0``, not nothing)."""
    return {key: "", "histogram": to_json([], unit), "average": 0, "count": 0}


def write_text(rows: List[Dict[str, Any]], out: IO[str],
               text: Callable[[Dict[str, Any]], str], empty: str) -> None:
    """Profile rows as text: ``text(row)`` each, or the line ``empty`` when
    nothing was sampled."""
    if not any(row["count"] for row in rows):
        out.write(empty + "\n")
        return
    for row in rows:
        out.write(text(row) + "\n")
