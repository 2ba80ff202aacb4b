"""Event output: one JSON object per line, or columns fitted to the terminal.

JSON keeps the nested event (``{"proc": {"comm": ...}}``); ``--fields``
selects dotted paths and keeps the nesting. A writer's ``events(batch)``
writes a whole batch with one ``write``: the JSON encoder is built once per
writer (``json.dumps`` builds one per call), a column row's getters and
widths once per column. Columns use the gadget's Field
widths; a width-0 field takes what is left of a terminal's line (all of its
text when the output is not a terminal).
"""
from __future__ import annotations

import json
import shutil
import sys
from typing import IO, Any, Callable, Dict, List, Optional, Sequence

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


def compact_encoder() -> Callable[[Any], str]:
    """A function giving ``json.dumps(value, separators=(",", ":"), default=str)``
    for the trees events are (no cycles), built once: the C encoder JSONEncoder
    itself uses when this Python has it, else JSONEncoder.encode."""
    encoder = json.JSONEncoder(separators=(",", ":"), default=str)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    try:
        chunks = make(None, str, json.encoder.encode_basestring_ascii, None, ":", ",",
                      False, False, True)
    except TypeError:  # another signature: keep the public path
        return encoder.encode
    join = "".join

    def encode(value: Any) -> str:
        return join(chunks(value, 0))

    probe = {"a": [1, 2.5, None, True, "\u00e9\n"], "b": {"c": b"x"}}
    return encode if encode(probe) == encoder.encode(probe) else encoder.encode


class _Writer:
    """What both writers share: a stream, lines already made, flushing."""

    stream: IO[str]

    def lines(self, batch: Sequence[str]) -> None:
        """Lines already made (gadgets.common.lines), in one write."""
        if batch:
            self.stream.write("\n".join(batch) + "\n")

    def flush(self) -> None:
        self.stream.flush()


class JSONWriter(_Writer):
    def __init__(self, fields: Optional[Sequence[str]] = None, stream: IO[str] = sys.stdout) -> None:
        self.fields = list(fields) if fields else None
        self.stream = stream
        self.encode = compact_encoder()

    def header(self) -> None:
        pass

    def event(self, event: Dict[str, Any]) -> None:
        self.events([event])

    def events(self, batch: Sequence[Dict[str, Any]]) -> None:
        """Every event of ``batch``, one line each, in one write."""
        if not batch:
            return
        if self.fields:
            fields = self.fields
            batch = [select_fields(event, fields) for event in batch]
        self.stream.write("\n".join(map(self.encode, batch)) + "\n")

    def lost(self, count: int, total: int) -> None:
        self.stream.write(json.dumps({"type": "lost", "lost": count, "lost_total": total},
                                     separators=(",", ":")) + "\n")
        self.stream.flush()


_CONTROL = {i: f"\\x{i:02x}" for i in range(32)}
_CONTROL.update({9: "\\t", 10: "\\n", 13: "\\r", 127: "\\x7f"})


def cell_text(value: Any) -> str:
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


def _getter(path: str) -> Callable[[Dict[str, Any]], Any]:
    """``get_path(event, path)`` with the path split once."""
    if "." not in path:
        return lambda event: event.get(path)
    return lambda event: get_path(event, path)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ColumnWriter(_Writer):
    def __init__(self, gadget: Gadget, fields: Optional[Sequence[str]] = None,
                 stream: IO[str] = sys.stdout, width: Optional[int] = None) -> None:
        names = list(fields or gadget.default_fields)
        cols: List[Field] = ([gadget.field(f) for f in names] if names
                             else [f for f in gadget.all_fields if f.column])
        self.cols = cols
        self.stream = stream
        if width is None and _isatty(stream):
            width = shutil.get_terminal_size((160, 24)).columns
        self.width = width
        fixed = sum(abs(c.width) + 1 for c in cols if c.width)
        # the flexible column takes what a terminal has left; unlimited in a pipe
        self.rest = None if width is None else max(width - fixed, 10)

        self.fits = [self._fitter(c) for c in cols]
        self._cells = [(_getter(c.name), fit) for c, fit in zip(cols, self.fits)]

    def _fitter(self, col: Field) -> Callable[[str], str]:
        """The function fitting a cell's text to ``col``'s width."""
        if col.width == 0:
            rest = self.rest
            return (lambda text: text) if rest is None else (lambda text: text[:rest])
        w = abs(col.width)
        pad = str.rjust if col.width < 0 else str.ljust

        def fit(text: str) -> str:
            if len(text) > w:
                text = text[: w - 1] + "+" if w > 1 else text[:w]
            return pad(text, w)
        return fit

    def _line(self, cells: List[str]) -> str:
        return " ".join([fit(text) for (_, fit), text in zip(self._cells, cells)]).rstrip() + "\n"

    def header(self) -> None:
        self.stream.write(self._line([c.title for c in self.cols]))
        self.stream.flush()

    def event(self, event: Dict[str, Any]) -> None:
        self.events([event])

    def row(self, event: Dict[str, Any]) -> str:
        """An event's row (no newline)."""
        return " ".join([fit(cell_text(get(event))) for get, fit in self._cells]).rstrip()

    def events(self, batch: Sequence[Dict[str, Any]]) -> None:
        """Every event of ``batch``, one row each, in one write."""
        if batch:
            self.stream.write("\n".join(map(self.row, batch)) + "\n")

    def lost(self, count: int, total: int) -> None:
        sys.stderr.write(f"pybpf: lost {count} events ({total} in total)\n")
        sys.stderr.flush()
