"""How `pybpf run` prints what a session yields, for each kind of gadget.

- :func:`stream`: a trace gadget's events as they come (JSON lines or columns).
- :func:`live_top`: a top gadget's rows each interval, sorted and cut to
  ``--max-rows``, in a live table (q quits in a terminal) or as JSON lines.
- :func:`rows_once`: a profile's or snapshot's rows when the session ends,
  as JSON lines, a table, or an output the gadget declares (``-o tree``).
"""
from __future__ import annotations

import io
import json
import sys
import time
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..common import lines
from ..common.gadget import Gadget
from ..common.livetable import LiveTable, parse_sort, sort_rows
from ..common.output import ColumnWriter, JSONWriter
from ..common.session import Session

Writer = Union[ColumnWriter, JSONWriter]


def event_writer(gadget: Gadget, output: str, fields: Sequence[str],
                 stream: Optional[IO[str]] = None) -> Writer:
    out = stream if stream is not None else sys.stdout
    if output == "json":
        return JSONWriter(fields, stream=out)
    return ColumnWriter(gadget, fields, stream=out)


def stream(session: Session, writer: Writer) -> None:
    """Every event until the session ends; lost events reported at Ctrl-C too."""
    writer.header()
    # lines made from the records where that gives the same text (no dict per event)
    render = lines.for_run(session, writer)
    batches = session.batches() if render is None else session.batches(render)
    show = writer.events if render is None else writer.lines
    try:
        for batch in batches:
            show(batch)
            writer.flush()
    except KeyboardInterrupt:
        session.check_lost()


def table_lines(gadget: Gadget, fields: Sequence[str], rows: Sequence[Mapping[str, Any]],
                width: Optional[int] = None) -> Tuple[str, List[str]]:
    """Header line and row lines in the gadget's column layout."""
    buf = io.StringIO()
    writer = ColumnWriter(gadget, list(fields) or None, stream=buf, width=width)
    writer.header()
    for row in rows:
        writer.event(dict(row))
    lines = buf.getvalue().splitlines()
    return lines[0], lines[1:]


def _json_lines(rows: Sequence[Dict[str, Any]], out: IO[str]) -> None:
    out.write("".join(json.dumps(r, separators=(",", ":"), default=str) + "\n" for r in rows))
    out.flush()


def live_top(session: Any, output: str, fields: Sequence[str] = (),
             out: Optional[IO[str]] = None, keys: Any = None) -> None:
    """A top gadget's batches, one table (or set of JSON lines) per interval."""
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
            if output == "json":
                _json_lines(rows, out)
                continue
            width = table.size()[0] if table.interactive else None
            header, lines = table_lines(gadget, fields, rows, width=width)
            clock = time.strftime("%H:%M:%S")
            table.show(f"{gadget.name} {clock}  interval {session.interval:g}s  rows {len(rows)}"
                       + ("  (q to quit)" if table.interactive else ""), header, lines)


def rows_once(session: Session, output: str, fields: Sequence[str] = (),
              out: Optional[IO[str]] = None) -> None:
    """A profile's rows when it ends (--timeout, Ctrl-C), or a snapshot's now."""
    gadget = session.gadget
    out = out if out is not None else sys.stdout
    if gadget.category == "profile" and output != "json":
        print(f"Tracing ({gadget.name})... Ctrl-C or --timeout to end.", file=sys.stderr)
    rows = next(session.batches())
    custom = gadget.outputs.get(output)
    if custom is not None:
        custom(session, rows, out)
    elif output == "json":
        _json_lines(rows, out)
    else:
        header, lines = table_lines(gadget, fields, rows)
        out.write("\n".join([header, *lines]) + "\n")
    out.flush()
