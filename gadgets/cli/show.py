"""How `pybpf run` prints a trace gadget's events as they come: columns, or
documents (JSON lines, indented JSON, YAML). The rows of the gadgets that read
maps (top, profile, snapshot) are gadgets.cli.tables': a trace run imports
neither the live table nor its terminal modules.
"""
from __future__ import annotations

import sys

from ..common import lines
from ..common.gadget import Gadget
from ..common.output import DOCUMENTS, ColumnWriter, DocumentWriter, document_writer
from ..common.session import Session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Optional, Sequence, Union
    Writer = Union[ColumnWriter, DocumentWriter]


def event_writer(gadget: Gadget, output: str, fields: Optional[Sequence[Any]],
                 stream: Optional[IO[str]] = None, drop: Sequence[str] = ()) -> Writer:
    """The writer of ``output`` (columns or one of DOCUMENTS)."""
    out = stream if stream is not None else sys.stdout
    if output in DOCUMENTS:
        return document_writer(output, fields, out, drop)
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
