"""How `pybpf run` prints the rows of the gadgets that read maps, for each kind:

- :func:`live_top`: a top gadget's rows each interval, sorted and cut to
  ``--max-rows`` (``--max-entries``), in a live table (q quits in a
  terminal) or as documents.
- :func:`rows_once`: a profile's or snapshot's rows when the session ends,
  cut to ``--max-entries``, as documents, a table, or an output the gadget
  declares (``-o tree``).

A trace gadget's events are gadgets.cli.show's.
"""
from __future__ import annotations

import io
import sys
import time
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..common.gadget import Gadget
from ..common.livetable import LiveTable, parse_sort, sort_rows
from ..common.output import DOCUMENTS, ColumnWriter, document_writer, terminal_width
from ..common.session import Session


def table_lines(gadget: Gadget, fields: Optional[Sequence[Any]],
                rows: Sequence[Mapping[str, Any]],
                width: Optional[int] = None) -> Tuple[str, List[str]]:
    """Header line and row lines in the gadget's column layout."""
    buf = io.StringIO()
    writer = ColumnWriter(gadget, list(fields or ()) or None, stream=buf, width=width)
    writer.header()
    for row in rows:
        writer.event(dict(row))
    lines = buf.getvalue().splitlines()
    return lines[0], lines[1:]


def _documents(rows: Sequence[Dict[str, Any]], output: str, fields: Optional[Sequence[str]],
               drop: Sequence[str], out: IO[str]) -> None:
    document_writer(output, fields, out, drop).events(list(rows))
    out.flush()


def live_top(session: Any, output: str, fields: Optional[Sequence[Any]] = (),
             out: Optional[IO[str]] = None, keys: Any = None, drop: Sequence[str] = ()) -> None:
    """A top gadget's batches, one table (or set of documents) per interval."""
    gadget = session.gadget
    params = session.params
    sort_keys = parse_sort(str(params["sort"]), [f.name for f in gadget.all_fields])
    max_rows = int(params["max_rows"])
    out = out if out is not None else sys.stdout
    with LiveTable(out=out if output == "columns" else io.StringIO(), keys=keys) as table:
        session.pause = table.wait
        for batch in session.batches():
            rows = sort_rows(batch, sort_keys)
            if max_rows > 0:
                rows = rows[:max_rows]
            if output in DOCUMENTS:
                _documents(rows, output, fields, drop, out)
                continue
            width = table.size()[0] if table.interactive else None
            header, lines = table_lines(gadget, fields, rows, width=width)
            clock = time.strftime("%H:%M:%S")
            table.show(f"{gadget.name} {clock}  interval {session.interval:g}s  rows {len(rows)}"
                       + ("  (q to quit)" if table.interactive else ""), header, lines)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def tracing_line(session: Session) -> str:
    """What a profile says as it starts: how it ends."""
    name = session.gadget.name
    if session.timeout is not None:
        return f"Tracing ({name}) for {session.timeout:g}s..."
    return f"Tracing ({name})... Ctrl-C to end."


def rows_once(session: Session, output: str, fields: Optional[Sequence[Any]] = (),
              out: Optional[IO[str]] = None, drop: Sequence[str] = (),
              max_entries: Optional[int] = None) -> None:
    """A profile's rows when it ends (--timeout, Ctrl-C), or a snapshot's now;
    the first ``max_entries`` of them (all for 0 or None)."""
    gadget = session.gadget
    out = out if out is not None else sys.stdout
    if gadget.category == "profile" and output not in DOCUMENTS:
        _say(tracing_line(session))
    session.progress = _say
    rows = next(session.batches())
    if max_entries:
        rows = rows[:max_entries]
    custom = gadget.outputs.get(output)
    if custom is not None:
        custom(session, rows, out)
    elif output in DOCUMENTS:
        _documents(rows, output, fields, drop, out)
    else:
        header, lines = table_lines(gadget, fields, rows, width=terminal_width(out))
        out.write("\n".join([header, *lines]) + "\n")
    out.flush()
