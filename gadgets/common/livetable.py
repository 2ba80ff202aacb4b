"""The refreshing table of the top gadgets, and their row sorting.

:class:`LiveTable` shows one table per interval. On a terminal it switches to
the alternate screen, redraws in place (cursor home, clear), cuts rows and
lines to the terminal size, reads keys in cbreak mode and stops on ``q`` or
Ctrl-C, restoring the terminal on every way out. When stdout is not a terminal
it prints plain tables one after the other, each under a time line.

:func:`sort_rows` applies a ``--sort`` specification (comma list of fields,
``-field`` for descending) to rows given as dicts.
"""
from __future__ import annotations

import os
import select
import sys
import termios
import time
import tty
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO

from pybpf.cli import terminal_size

from .gadget import get_path

_ALT_ON = "\x1b[?1049h\x1b[?25l"   # alternate screen, hide cursor
_ALT_OFF = "\x1b[?25h\x1b[?1049l"  # show cursor, main screen
_HOME_CLEAR = "\x1b[H\x1b[2J"


def parse_sort(spec: str, known: Sequence[str]) -> List[tuple]:
    """``"-wbytes,comm"`` -> ``[("wbytes", True), ("comm", False)]``, fields checked."""
    keys = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        name = part.lstrip("-+")
        if name not in known:
            raise ValueError(f"--sort: unknown field {name!r} (known: {', '.join(known)})")
        keys.append((name, descending))
    return keys


def sort_rows(rows: List[Dict[str, Any]], keys: Sequence[tuple]) -> List[Dict[str, Any]]:
    """Rows sorted by ``keys`` (as :func:`parse_sort` returns), stable, in a new list.

    Field names may be dotted paths into nested rows (``proc.pid``). Rows
    lacking a field (or holding None) go last whatever the direction.
    """
    out = list(rows)
    for name, descending in reversed(list(keys)):
        values = [(get_path(r, name), r) for r in out]
        present = [(v, r) for v, r in values if v is not None]
        missing = [r for v, r in values if v is None]
        present.sort(key=lambda vr: _sortable(vr[0]), reverse=descending)
        out = [r for _, r in present] + missing
    return out


def _sortable(value: Any) -> tuple:
    # numbers before strings: never compares an int with a str
    if isinstance(value, (int, float)):
        return (0, value, "")
    return (1, 0, str(value))


class LiveTable:
    """Shows successive tables: in place on a terminal, one after another otherwise."""

    def __init__(self, out: Optional[TextIO] = None, keys: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out if out is not None else sys.stdout
        self.keys = keys if keys is not None else sys.stdin
        self.clock = clock
        self.interactive = _isatty(self.out)
        self._saved: Optional[list] = None
        self._key_fd: Optional[int] = None
        self._open = False

    def __enter__(self) -> "LiveTable":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        if self._open:
            return
        self._open = True
        if not self.interactive:
            return
        if _isatty(self.keys):
            self._key_fd = self.keys.fileno()
            self._saved = termios.tcgetattr(self._key_fd)
            tty.setcbreak(self._key_fd)  # keys without Enter; Ctrl-C still raises
        self.out.write(_ALT_ON)
        self.out.flush()

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        if not self.interactive:
            return
        if self._key_fd is not None and self._saved is not None:
            termios.tcsetattr(self._key_fd, termios.TCSADRAIN, self._saved)
            self._saved = None
        self.out.write(_ALT_OFF)
        self.out.flush()

    def show(self, title: str, header: str, rows: Sequence[str]) -> None:
        """Draw one table: a title line, a header line and the rows."""
        if not self.interactive:
            lines = [title, header, *rows, ""]
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()
            return
        columns, lines_ = self.size()
        room = max(lines_ - 3, 0)  # title, header, and a last line kept free
        lines = [title, header, *rows[:room]]
        text = "\n".join(line[:columns] for line in lines)
        self.out.write(_HOME_CLEAR + text)
        self.out.flush()

    def size(self) -> "tuple[int, int]":
        """(columns, lines) of the terminal, asked of the terminal itself.

        $COLUMNS/$LINES are not trusted: they are often stale or inherited
        (pytest sets them to 80x24 for its children).
        """
        try:
            size = os.get_terminal_size(self.out.fileno())
            return size.columns, size.lines
        except (AttributeError, ValueError, OSError):
            return terminal_size((80, 24))

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False when the user pressed q (or stdin closed)."""
        deadline = self.clock() + seconds
        while True:
            left = deadline - self.clock()
            if left <= 0:
                return True
            if self._key_fd is None:
                time.sleep(left)
                continue
            ready, _, _ = select.select([self._key_fd], [], [], left)
            if not ready:
                continue
            data = os.read(self._key_fd, 32)
            if not data or b"q" in data or b"Q" in data:
                return False


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
