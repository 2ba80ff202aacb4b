"""The short time columns of BCC's tools, shown from an event's ``timestamp``.

``-T`` adds a TIME column with the local wall-clock time (HH:MM:SS, as
execsnoop -T); ``-t`` adds TIME(s), seconds since the run started (as
execsnoop -t). Both are views of the ISO 8601 ``timestamp`` field
(``2026-12-07T03:32:11.266391Z``), so JSON output and filters are unchanged
and the time column is never cut.
"""
from __future__ import annotations

import calendar
import time
from typing import Callable, Optional

from .gadget import Field


def _seconds_of_day(iso: str) -> int:
    return int(iso[11:13]) * 3600 + int(iso[14:16]) * 60 + int(iso[17:19])


def clock_view(utc_offset: Optional[int] = None) -> Callable[[str], str]:
    """ISO timestamp -> local HH:MM:SS (``utc_offset`` seconds east of UTC;
    this machine's offset now by default)."""
    offset = time.localtime().tm_gmtoff if utc_offset is None else utc_offset

    def view(iso: str) -> str:
        if len(iso) < 19:
            return iso
        seconds = (_seconds_of_day(iso) + offset) % 86400
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return view


def epoch(iso: str) -> float:
    """Seconds since the epoch of an ISO timestamp in UTC (``...Z``)."""
    whole = calendar.timegm((int(iso[0:4]), int(iso[5:7]), int(iso[8:10]),
                             int(iso[11:13]), int(iso[14:16]), int(iso[17:19]), 0, 0, 0))
    digits = iso[20:].rstrip("Z")
    return whole + (int(digits) / 10 ** len(digits) if iso[19:20] == "." and digits else 0.0)


def since_view(start: Optional[float] = None) -> Callable[[str], str]:
    """ISO timestamp -> seconds since ``start`` (epoch seconds; now by default), 3 decimals."""
    origin = time.time() if start is None else start

    def view(iso: str) -> str:
        if len(iso) < 19:
            return iso
        return f"{epoch(iso) - origin:.3f}"
    return view


def clock_column() -> Field:
    """The TIME column of ``-T``."""
    return Field("timestamp", "local time of the event (HH:MM:SS)", 8, header="TIME",
                 view=clock_view())


def since_column() -> Field:
    """The TIME(s) column of ``-t``."""
    return Field("timestamp", "seconds since the run started", -10, header="TIME(s)",
                 view=since_view())
