"""The Prometheus text exposition format, version 0.0.4.

:func:`render` (or a :class:`Renderer`, which keeps formatted series names
between scrapes) turns a registry snapshot into the text a Prometheus server
scrapes: per family a ``# HELP`` and a ``# TYPE`` line, then one line per
sample, ``name{label="value",...} number``. Label values escape backslash,
double quote and newline; HELP text escapes backslash and newline. A
histogram series becomes cumulative ``NAME_bucket{...,le="bound"}`` lines
ending with ``le="+Inf"``, then ``NAME_sum`` and ``NAME_count``.
"""
from __future__ import annotations

import math
from typing import Dict, Iterable, List, Sequence, Tuple

from .registry import FamilySnapshot, Labels

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape_label_value(value: str) -> str:
    if "\\" not in value and "\n" not in value and '"' not in value:
        return value
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def number(value: float) -> str:
    """A sample value or bound as Prometheus parses it (+Inf, -Inf, NaN)."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{escape_label_value(str(v))}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class Renderer:
    """Renders snapshots, keeping each series' formatted ``name{labels}``
    between scrapes (escaping and formatting them is most of the work; the
    label sets of counters rarely change). The cache is dropped when it
    holds more than twice the series of the last render (gone gauge rows)."""

    def __init__(self) -> None:
        self._heads: Dict[Tuple[str, Labels], str] = {}

    def render(self, families: Iterable[FamilySnapshot]) -> str:
        """The whole exposition, newline-terminated."""
        lines: List[str] = []
        count = 0
        for f in families:
            lines.append(f"# HELP {f.name} {escape_help(f.help)}")
            lines.append(f"# TYPE {f.name} {f.kind}")
            count += len(f.series)
            if f.kind == "histogram":
                self._histogram_lines(f, lines)
                continue
            heads, name, names = self._heads, f.name, f.label_names
            for values, sample in f.series.items():
                head = heads.get((name, values))
                if head is None:
                    head = heads[(name, values)] = name + _labels(names, values)
                lines.append(f"{head} {number(sample)}")  # type: ignore[arg-type]
        if len(self._heads) > 2 * count + 1024:
            self._heads = {}
        return "\n".join(lines) + "\n"

    @staticmethod
    def _histogram_lines(f: FamilySnapshot, lines: List[str]) -> None:
        les = ['le="' + number(b) + '"' for b in list(f.bounds) + [math.inf]]
        for values, (counts, total) in f.series.items():  # type: ignore[misc]
            running = 0
            for le, count in zip(les, counts):
                running += count
                lines.append(f"{f.name}_bucket{_labels(f.label_names, values, le)} {running}")
            head = _labels(f.label_names, values)
            lines.append(f"{f.name}_sum{head} {number(total)}")
            lines.append(f"{f.name}_count{head} {running}")


def render(families: Iterable[FamilySnapshot]) -> str:
    """The whole exposition, newline-terminated (no cache kept)."""
    return Renderer().render(families)
