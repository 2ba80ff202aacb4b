"""Event output: one JSON object per line, or columns fitted to the terminal.

JSON keeps the nested event (``{"proc": {"comm": ...}}``); ``--fields``
selects dotted paths and keeps the nesting. Columns use the gadget's Field
widths; a width-0 field takes what is left of a terminal's line (all of its
text when the output is not a terminal).
"""
from __future__ import annotations

import json
import shutil
import sys
from typing import IO, Any, Dict, List, Optional, Sequence

from .filters import get_path
from .gadget import Field, Gadget


def select_fields(event: Dict[str, Any], paths: Sequence[str]) -> Dict[str, Any]:
    """A copy of ``event`` keeping only ``paths`` (nesting preserved)."""
    out: Dict[str, Any] = {}
    for path in paths:
        value = get_path(event, path)
        parts = path.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class JSONWriter:
    def __init__(self, fields: Optional[Sequence[str]] = None, stream: IO[str] = sys.stdout) -> None:
        self.fields = list(fields) if fields else None
        self.stream = stream

    def header(self) -> None:
        pass

    def event(self, event: Dict[str, Any]) -> None:
        if self.fields:
            event = select_fields(event, self.fields)
        self.stream.write(json.dumps(event, separators=(",", ":"), default=str) + "\n")

    def flush(self) -> None:
        self.stream.flush()

    def lost(self, count: int, total: int) -> None:
        self.stream.write(json.dumps({"type": "lost", "lost": count, "lost_total": total},
                                     separators=(",", ":")) + "\n")
        self.stream.flush()


_CONTROL = {i: f"\\x{i:02x}" for i in range(32)}
_CONTROL.update({9: "\\t", 10: "\\n", 13: "\\r", 127: "\\x7f"})


def _cell(value: Any) -> str:
    """One column's text: lists space-joined, control characters escaped."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        text = " ".join(map(str, value))
    elif isinstance(value, bool):
        text = "yes" if value else ""
    else:
        text = str(value)
    return text.translate(_CONTROL)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ColumnWriter:
    def __init__(self, gadget: Gadget, fields: Optional[Sequence[str]] = None,
                 stream: IO[str] = sys.stdout, width: Optional[int] = None) -> None:
        cols: List[Field] = ([gadget.field(f) for f in fields] if fields
                             else [f for f in gadget.all_fields if f.column])
        self.cols = cols
        self.stream = stream
        if width is None and _isatty(stream):
            width = shutil.get_terminal_size((160, 24)).columns
        self.width = width
        fixed = sum(abs(c.width) + 1 for c in cols if c.width)
        # the flexible column takes what a terminal has left; unlimited in a pipe
        self.rest = None if width is None else max(width - fixed, 10)

    def _fmt(self, col: Field, text: str) -> str:
        if col.width == 0:
            return text if self.rest is None else text[: self.rest]
        w = abs(col.width)
        if len(text) > w:
            text = text[: w - 1] + "+" if w > 1 else text[:w]
        return text.rjust(w) if col.width < 0 else text.ljust(w)

    def _line(self, cells: List[str]) -> None:
        self.stream.write(" ".join(self._fmt(c, t) for c, t in zip(self.cols, cells)).rstrip() + "\n")

    def header(self) -> None:
        self._line([c.title for c in self.cols])
        self.stream.flush()

    def event(self, event: Dict[str, Any]) -> None:
        self._line([_cell(get_path(event, c.name)) for c in self.cols])

    def flush(self) -> None:
        self.stream.flush()

    def lost(self, count: int, total: int) -> None:
        sys.stderr.write(f"pybpf: lost {count} events ({total} in total)\n")
        sys.stderr.flush()
