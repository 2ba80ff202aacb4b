"""The Prometheus text exposition format, version 0.0.4.

:func:`render` turns a registry snapshot into the text a Prometheus server
scrapes: per family a ``# HELP`` and a ``# TYPE`` line, then one line per
sample, ``name{label="value",...} number``. Label values escape backslash,
double quote and newline; HELP text escapes backslash and newline. A
histogram series becomes cumulative ``NAME_bucket{...,le="bound"}`` lines
ending with ``le="+Inf"``, then ``NAME_sum`` and ``NAME_count``.
"""
from __future__ import annotations

import math
from typing import Iterable, List, Sequence

from .registry import FamilySnapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape_label_value(value: str) -> str:
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


def _family_lines(f: FamilySnapshot) -> List[str]:
    lines = [f"# HELP {f.name} {escape_help(f.help)}", f"# TYPE {f.name} {f.kind}"]
    for values in sorted(f.series):
        sample = f.series[values]
        if f.kind != "histogram":
            lines.append(f"{f.name}{_labels(f.label_names, values)} {number(sample)}")  # type: ignore[arg-type]
            continue
        counts, total = sample  # type: ignore[misc]
        running = 0
        for bound, count in zip(list(f.bounds) + [math.inf], counts):
            running += count
            le = 'le="' + number(bound) + '"'
            lines.append(f"{f.name}_bucket{_labels(f.label_names, values, le)} {running}")
        head = _labels(f.label_names, values)
        lines.append(f"{f.name}_sum{head} {number(total)}")
        lines.append(f"{f.name}_count{head} {running}")
    return lines


def render(families: Iterable[FamilySnapshot]) -> str:
    """The whole exposition, newline-terminated."""
    lines: List[str] = []
    for f in families:
        lines.extend(_family_lines(f))
    return "\n".join(lines) + "\n"
