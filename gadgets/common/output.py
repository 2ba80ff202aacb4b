"""Event output: columns fitted to the terminal, or documents: one JSON object
per line (``json``), indented JSON (``jsonpretty``) or YAML documents (``yaml``).

Documents keep the nested event (``{"proc": {"comm": ...}}``); ``--fields``
selects dotted paths and keeps the nesting, or, written relative to the
default (``+timestamp,-args``, see :func:`chosen_fields`), adds columns to
the default set and drops paths from documents. A writer's ``events(batch)``
writes a whole batch with one ``write``: the JSON encoder is built once per
writer (``json.dumps`` builds one per call), a column row's getters and
widths once per column. Columns use the gadget's Field
widths; a width-0 field takes what is left of a terminal's line (all of its
text when the output is not a terminal).
"""
from __future__ import annotations

import json
import os
import sys

from pybpf.cli import terminal_size

from .errors import GadgetError
from .gadget import Field, Gadget, get_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Tuple

DOCUMENTS = ("json", "jsonpretty", "yaml")


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


def drop_fields(event: Dict[str, Any], paths: Sequence[str]) -> Dict[str, Any]:
    """A copy of ``event`` without ``paths`` (dicts on the way copied, not changed)."""
    out = dict(event)
    for path in paths:
        *parents, last = path.split(".")
        node = out
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                break
            node[part] = node = dict(child)
        else:
            node.pop(last, None)
    return out


def chosen_fields(gadget: Gadget, text: Optional[str], output: str
                  ) -> Tuple[Optional[List[str]], List[str]]:
    """``--fields`` as (paths to keep or None for the default, paths to drop).

    A plain list (``proc.comm,args``) is what is kept, in that order. A list
    where every name has a sign is relative to the default: in columns,
    ``+name`` appends a column to the default ones and ``-name`` removes one;
    documents show every field already, so there ``-name`` drops a path and
    ``+name`` changes nothing. Unknown names are a GadgetError."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    signed = [n for n in names if n[0] in "+-"]
    if signed and len(signed) != len(names):
        raise GadgetError(f"--fields {text!r}: give names to show, or all with + or - "
                          "(relative to the default), not both")
    for name in names:
        gadget.field(name.lstrip("+-"))  # raises on an unknown field
    if not signed:
        return (names or None), []
    added = [n[1:] for n in names if n[0] == "+"]
    removed = [n[1:] for n in names if n[0] == "-"]
    if output in DOCUMENTS:
        return None, removed
    kept = [f.name for f in gadget.default_columns() if f.name not in removed]
    return kept + [n for n in added if n not in kept], []


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


class DictEncoder:
    """``encode(d)`` (a compact_encoder()) for dicts whose keys are strings, about
    twice as fast for the few shapes an event's dict has. A shape (its keys in order,
    which of its values are strings and which ints) gets a function, made once, that
    formats its keys' ready text with each value's: a string through the encoder's
    own escaping, an int as its digits, anything else through ``encode``. The last
    shape's function is tried first (events of a gadget mostly share one).
    The generated source holds names only (keys reach it as values, never as text);
    a function is kept once it gave ``encode``'s text for the dict it was made for."""

    LIMIT = 64  # shapes kept; dicts of others go to ``encode``

    def __init__(self, encode: Callable[[Any], str]) -> None:
        self._encode = encode
        self._by_shape: Dict[Tuple[Any, ...], Callable[[Any], str]] = {}
        #: the last shape's function (any dict may be given to it): calling it
        #: directly spares the call through this object
        self.encode: Callable[[Any], str] = self._other

    def __call__(self, d: Dict[str, Any]) -> str:
        return self.encode(d)

    def _other(self, d: Dict[str, Any]) -> str:
        """A dict not of the last shape: its shape's function, the current one from now."""
        shape = (tuple(d), tuple(map(type, d.values())))
        made = self._by_shape.get(shape)
        if made is None:
            if len(self._by_shape) >= self.LIMIT:
                return self._encode(d)
            made = self._encode
            if d and all(type(k) is str for k in d):
                made = _shaped_encoder(d, self._encode, self._other)
                if made(d) != self._encode(d):
                    made = self._encode
            self._by_shape[shape] = made
        if made is not self._encode:
            self.encode = made
        return made(d)


def _shaped_encoder(d: Dict[str, Any], encode: Callable[[Any], str],
                    otherwise: Callable[[Any], str]) -> Callable[[Any], str]:
    """The function of DictEncoder for the shape of ``d``; ``otherwise`` takes any
    other dict."""
    esc = json.encoder.encode_basestring_ascii
    env: Dict[str, Any] = {"_esc": esc, "_enc": encode, "_other": otherwise, "_type": type,
                           "_str": str, "_int": int, "_tuple": tuple, "_keys": tuple(d)}
    guards, fields = [], []
    for i, (key, value) in enumerate(d.items()):
        env[f"_k{i}"] = ("{" if i == 0 else ",") + esc(key) + ":"
        kind = type(value)
        if kind is str:
            guards.append(f"_type(a{i}) is _str")
            fields.append(f"{{_k{i}}}{{_esc(a{i})}}")
        elif kind is int:
            guards.append(f"_type(a{i}) is _int")
            fields.append(f"{{_k{i}}}{{a{i}}}")
        else:
            fields.append(f"{{_k{i}}}{{_enc(a{i})}}")
    names = ", ".join(f"a{i}" for i in range(len(d)))
    source = (f"def encode(d):\n    if _tuple(d) == _keys:\n        {names}, = d.values()\n"
              f"        if {' and '.join(guards) or 'True'}:\n"
              f"            return f'{''.join(fields)}}}}}'\n"
              f"    return _other(d)\n")
    exec(compile(source, "<json of one shape of dict>", "exec"), env)  # noqa: S102
    made: Callable[[Any], str] = env["encode"]
    return made


class _Writer:
    """What both writers share: a stream, lines already made, flushing.

    Text goes to a stream that has a file descriptor (stdout) through os.write, every
    byte: CPython's buffered file (3.11) drops the rest of a large write that a signal
    interrupted partway (a pipe's reader slower than the stream, then Ctrl-C: a line
    cut, the batch after it gone, although the handler returned). os.write says how
    much went; the rest is written again. Other streams (StringIO) get ``write``."""

    stream: IO[str]
    _fd: Optional[int] = -1  # -1: not looked up yet; None: the stream has no fd

    def put(self, text: str) -> None:
        """``text`` written whole (see the class's docstring)."""
        fd = self._fd
        if fd == -1:
            fd = self._fd = _fd_of(self.stream)
        if fd is None:
            self.stream.write(text)
            return
        self.stream.flush()  # what went through the stream before, first
        data = memoryview(text.encode(getattr(self.stream, "encoding", None) or "utf-8",
                                      getattr(self.stream, "errors", None) or "strict"))
        while data:
            data = data[os.write(fd, data):]

    def lines(self, batch: Sequence[str]) -> None:
        """Lines already made (gadgets.common.lines), in one write."""
        if batch:
            self.put("\n".join(batch) + "\n")

    def flush(self) -> None:
        self.stream.flush()


def _fd_of(stream: IO[str]) -> Optional[int]:
    """The file descriptor ``stream`` writes to, or None (StringIO, a wrapper without one)."""
    try:
        return stream.fileno()
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is both
        return None


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, default=str) + "\n"


class DocumentWriter(_Writer):
    """Each event as one document: ``jsonpretty`` (indented JSON values one
    after another) or ``yaml`` (a YAML document each); ``fields`` kept or
    ``drop`` removed first. A lost-events notice is a document too."""

    def __init__(self, output: str = "jsonpretty", fields: Optional[Sequence[str]] = None,
                 stream: IO[str] = sys.stdout, drop: Sequence[str] = ()) -> None:
        self.fields = list(fields) if fields else None
        self.drop = list(drop)
        self.stream = stream
        self.document: Callable[[Any], str] = _pretty
        if output == "yaml":  # here: its escaping pattern alone takes ~10 ms to compile
            from . import yamltext
            self.document = yamltext.document

    def header(self) -> None:
        pass

    def event(self, event: Dict[str, Any]) -> None:
        self.events([event])

    def chosen(self, event: Dict[str, Any]) -> Dict[str, Any]:
        """``event`` with ``--fields`` applied."""
        if self.fields:
            return select_fields(event, self.fields)
        return drop_fields(event, self.drop) if self.drop else event

    def events(self, batch: Sequence[Dict[str, Any]]) -> None:
        """Every event of ``batch``, in one write."""
        if batch:
            self.put("".join([self.document(self.chosen(e)) for e in batch]))

    def lost(self, count: int, total: int) -> None:
        self.put(self.document({"type": "lost", "lost": count, "lost_total": total}))
        self.stream.flush()


class JSONWriter(DocumentWriter):
    """One compact JSON object per line (``json``)."""

    def __init__(self, fields: Optional[Sequence[str]] = None, stream: IO[str] = sys.stdout,
                 drop: Sequence[str] = ()) -> None:
        super().__init__("json", fields, stream, drop)
        self.encode = compact_encoder()
        self.document = lambda value: self.encode(value) + "\n"

    def events(self, batch: Sequence[Dict[str, Any]]) -> None:
        """Every event of ``batch``, one line each, in one write."""
        if not batch:
            return
        if self.fields or self.drop:
            batch = [self.chosen(event) for event in batch]
        self.put("\n".join(map(self.encode, batch)) + "\n")


def document_writer(output: str, fields: Optional[Sequence[str]] = None,
                    stream: IO[str] = sys.stdout, drop: Sequence[str] = ()) -> DocumentWriter:
    """The writer of one of DOCUMENTS."""
    if output == "json":
        return JSONWriter(fields, stream, drop)
    return DocumentWriter(output, fields, stream, drop)


_CONTROL = {i: f"\\x{i:02x}" for i in range(32)}
_CONTROL.update({9: "\\t", 10: "\\n", 13: "\\r", 127: "\\x7f"})


def cell_text(value: Any) -> str:
    """One column's text: lists space-joined, control characters escaped."""
    kind = type(value)
    if kind is str and value.isprintable():  # nothing to escape (no control character is printable)
        return value
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        text = " ".join(map(str, value))
    elif isinstance(value, bool):
        text = "yes" if value else ""
    else:
        text = str(value)
    return text.translate(_CONTROL)


def field_getter(path: str) -> Callable[[Dict[str, Any]], Any]:
    """``get_path(event, path)`` with the path split once."""
    if "." not in path:
        return lambda event: event.get(path)
    return lambda event: get_path(event, path)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_width(stream: IO[str]) -> Optional[int]:
    """The columns of the terminal ``stream`` writes to; None when it is no terminal."""
    return terminal_size((160, 24))[0] if _isatty(stream) else None


class ColumnWriter(_Writer):
    """Events as rows of columns: ``fields`` names them (or gives Field
    objects, such as the time columns of common.timecolumns), the gadget's
    default columns otherwise."""

    def __init__(self, gadget: Gadget, fields: Optional[Sequence[Any]] = None,
                 stream: IO[str] = sys.stdout, width: Optional[int] = None) -> None:
        cols = ([f if isinstance(f, Field) else gadget.field(f) for f in fields] if fields
                else gadget.default_columns())
        self.cols = cols
        self.stream = stream
        if width is None:
            width = terminal_width(stream)
        self.width = width
        fixed = sum(abs(c.width) + 1 for c in cols if c.width)
        # the flexible column takes what a terminal has left; unlimited in a pipe
        self.rest = None if width is None else max(width - fixed, 10)

        self.fits = self._fitters(cols, width)
        self._cells = [(field_getter(c.name), fit) for c, fit in zip(cols, self.fits)]

    def _fitters(self, cols: List[Field], width: Optional[int]) -> List[Callable[[str], str]]:
        """Each column's fitter (its ``view`` first). On a terminal no line is
        wider than it: the column the edge falls in is cut there (marked
        "+"), the columns past it stay empty."""
        out = []
        at = 0
        for col in cols:
            size = abs(col.width) if col.width else self.rest
            room = None if width is None else width - at
            fit = self._cut(col, room)
            view = col.view
            out.append(fit if view is None else (lambda text, fit=fit, view=view:
                                                 fit(view(text))))
            at += (size or 0) + 1
        return out

    def _cut(self, col: Field, room: Optional[int]) -> Callable[[str], str]:
        """A cell's text cut (marked "+") and padded to the column's width, or
        to ``room``, what is left of the line, when that is less."""
        if room is not None and room <= 0:
            return lambda text: ""
        if col.width == 0:
            rest = self.rest if room is None or self.rest is None else min(self.rest, room)
            if rest is None:
                return lambda text: text
            return lambda text: text if len(text) <= rest else text[: rest - 1] + "+"
        w = abs(col.width) if room is None else min(abs(col.width), room)
        pad = str.rjust if col.width < 0 else str.ljust

        def fit(text: str) -> str:
            if len(text) > w:
                # a one-wide cut shows the mark where the edge took the rest
                text = text[: w - 1] + "+" if w > 1 or w < abs(col.width) else text[:w]
            return pad(text, w)
        return fit

    def _line(self, cells: List[str]) -> str:
        return " ".join([fit(text) for (_, fit), text in zip(self._cells, cells)]).rstrip() + "\n"

    def header(self) -> None:
        self.put(self._line([c.title for c in self.cols]))
        self.stream.flush()

    def event(self, event: Dict[str, Any]) -> None:
        self.events([event])

    def row(self, event: Dict[str, Any]) -> str:
        """An event's row (no newline)."""
        return " ".join([fit(cell_text(get(event))) for get, fit in self._cells]).rstrip()

    def events(self, batch: Sequence[Dict[str, Any]]) -> None:
        """Every event of ``batch``, one row each, in one write."""
        if batch:
            self.put("\n".join(map(self.row, batch)) + "\n")

    def lost(self, count: int, total: int) -> None:
        sys.stderr.write(f"pybpf: lost {count} events ({total} in total)\n")
        sys.stderr.flush()
