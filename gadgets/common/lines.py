"""Trace events straight to output lines, for ``pybpf run GADGET``.

The general path presents each record as a dict (EventSession.present) and a
writer formats every value of it. This path writes the same text with less
work per event: the container and process part of an event (``runtime``,
``k8s``, ``proc``) depends only on the record's raw ``struct gadget_proc``
(its mount namespace and pid, and what the container runtimes say about
them), so it is presented and formatted once per distinct raw process
record and kept as text (JSON: ``"runtime":{...},"k8s":{...},"proc":{...}``;
columns: the cells of those columns); only the time stamp and the gadget's own fields are
formatted per event. Kept texts are dropped every ``KEEP_SECONDS`` so a
container discovered later shows up as it would on the general path.
The gadget's ``present`` gets the record's members without ``proc``
(pybpf.decoders: StructDecoder.narrowed), byte arrays kept raw sliced from
the record: a variable-length tail is neither padded nor decoded as text
(EventDecoder.decode does not pad it either). A gadget whose fields are
declared (gadgets.common.declared) gets its JSON line from one function
generated from that declaration instead (members unpacked into locals, no dict).

It serves runs without ``--filter`` or containers followed in user space, with the standard EventSession and no
nested processes (``other_processes``); JSON also without ``--fields``
(kept or dropped).
:func:`for_run` says None otherwise.
"""
from __future__ import annotations

import time

from .declared import Declared
from .decode import proc_fields
from .output import ColumnWriter, DictEncoder, JSONWriter, cell_text, field_getter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple

KEEP_SECONDS = 1.0
KEEP_MAX = 4096  # distinct processes kept at once
_STAMPS = frozenset(("timestamp", "timestamp_raw"))


class _RecordLines:
    """What both formats share: decoding, the kept process parts, fallback."""

    def __init__(self, run: Any) -> None:
        self._run = run
        self._decoder = run._decoder
        off, size = self._decoder.spans["proc"]
        self._proc = slice(off, off + size)
        self._stamped = "timestamp" in self._decoder.spans
        self._raw = list(self._decoder.raw.items())
        self._narrow: Optional[Tuple[Callable[..., Any], int]] = None  # None: decode it all
        # a process not kept yet (every exec is one): its part alone is decoded, by a
        # function made at the second such process (see _new_process)
        self._proc_only: Optional[Tuple[Callable[..., Any], int]] = None
        self._new_processes = 0
        self._zeros = bytes(self._decoder.size)
        self._present = run.gadget.present
        self._iso = run._clock.iso
        self._kept: Dict[bytes, Any] = {}  # cleared, never replaced: generated lines hold .get
        self._kept_since = time.monotonic()
        #: the gadget's Declared fields, whose line each format generates; None: a present()
        self._declared = self._present if isinstance(self._present, Declared) else None
        self._fields = self._declared.tops if self._declared is not None else frozenset()

    def _install(self, generated: Optional[Callable[[Any], str]]) -> None:
        """:meth:`line` becomes ``generated`` (a Declared gadget's line, which unpacks
        what its fields read itself) when there is one; otherwise it decodes the
        gadget's own members only: the process part is kept by its raw bytes, and byte
        arrays kept raw are sliced from the record (no padding of a short record)."""
        if generated is not None:
            self.line = generated  # type: ignore[method-assign]
        else:
            self._narrow = self._decoder.struct.narrowed({"proc", *self._decoder.raw})

    def fresh(self) -> None:
        """Drop the kept process parts when they are older than KEEP_SECONDS."""
        now = time.monotonic()
        if now - self._kept_since >= KEEP_SECONDS or len(self._kept) > KEEP_MAX:
            self._kept.clear()
            self._kept_since = now

    def _process(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        """The event's container and process keys, as EventSession.present puts them."""
        proc = proc_fields(raw["proc"])
        part = dict(self._run.container_of(proc["mntns_id"], proc["pid"]))
        part["proc"] = proc
        return part

    def _new_process(self, record: Any) -> Dict[str, Any]:
        """The container and process part of a record whose process is not kept. The
        first is decoded whole, by the decoder the session made already: the decoder of
        the process part alone (a function to compile) is made for the second, so a run
        shows its first line without waiting for it (a run filtered to one process may
        never need it)."""
        narrow = self._proc_only
        if narrow is None:
            self._new_processes += 1
            if self._new_processes == 2:
                narrow = self._proc_only = self._decoder.struct.narrowed(
                    set(self._decoder.spans) - {"proc"})
        if narrow is None or len(record) < narrow[1]:
            return self._process(self._decoder.decode(record))
        return self._process(narrow[0](record))

    def line(self, record: Any) -> str:
        """One record -> its line (no newline)."""
        key = bytes(record[self._proc])
        kept = self._kept.get(key)
        if kept is None:
            part = self._new_process(record)
            kept = self._kept[key] = (self._format_process(part), _STAMPS.union(part))
        # the record's members for the gadget's present, without proc (decoded in
        # the same step as the rest of the line: a call less per event)
        narrow = self._narrow
        if narrow is None:
            raw = self._decoder.decode(record)
        else:
            have = len(record)
            raw = narrow[0](record if have >= narrow[1] else
                            bytes(record) + self._zeros[have:narrow[1]])
            for name, (off, size) in self._raw:
                raw[name] = bytes(record[off:off + size])
        try:
            own = self._present(raw) if self._present is not None else {}
        except KeyError:
            if self._narrow is None:
                raise
            self._narrow = None  # a present that reads the process part: give it all
            return self.line(record)
        if own and not kept[1].isdisjoint(own):  # the gadget replaces a common field
            return self._general(self._run.present(record))
        return self._compose(raw, kept[0], own)

    def _declared_head(self, record: Any) -> Any:
        """A new process's part for a Declared gadget's generated line (kept; empty when
        one of the gadget's fields would replace one of its keys: the general path then)."""
        part = self._new_process(record)
        kept = self._kept[bytes(record[self._proc])] = (
            self._declared_part(part) if self._fields.isdisjoint(part) else "")
        return kept

    def _declared_part(self, part: Dict[str, Any]) -> Any:
        return self._format_process(part)

    def _format_process(self, part: Dict[str, Any]) -> Any:
        raise NotImplementedError

    def _compose(self, raw: Dict[str, Any], kept: Any, own: Dict[str, Any]) -> str:
        raise NotImplementedError

    def _general(self, event: Dict[str, Any]) -> str:
        raise NotImplementedError

    def _declared_general(self, record: Any) -> str:
        return self._general(self._run.present(record))


class JSONLines(_RecordLines):
    """The JSON writer's line of an event, ``json.dumps`` of the presented dict."""

    def __init__(self, run: Any, encode: Callable[[Any], str]) -> None:
        super().__init__(run)
        self._encode = encode
        self._encode_own = DictEncoder(encode)  # the gadget's part: a few shapes of dict
        self._encode_proc = DictEncoder(encode)
        # the container part of the last process formatted, and its text: processes
        # come and go (every exec is a new one) in the same few containers, mostly none
        self._container: Optional[Dict[str, Any]] = None
        self._container_text = ""
        declared = self._declared  # the gadget's own line, generated from its fields
        self._install(declared and declared.json_line(
            self._decoder, {f.name: f.type for f in run.gadget.fields}, self._kept,
            self._declared_head, self._declared_general, self._iso, encode))

    def _format_process(self, part: Dict[str, Any]) -> str:
        container = dict(part)  # _process puts "proc" last, after the container's keys
        proc = container.pop("proc")
        if container != self._container:
            self._container = container
            self._container_text = self._encode(container)[1:-1]
        head = self._container_text
        return (head + "," if head else "") + '"proc":' + self._encode_proc.encode(proc)

    def _compose(self, raw: Dict[str, Any], kept: str, own: Dict[str, Any]) -> str:
        if self._stamped:
            stamp = raw["timestamp"]
            if own:  # the usual line, made in one step
                return (f'{{"timestamp":"{self._iso(stamp)}","timestamp_raw":{stamp},{kept},'
                        f'{self._encode_own.encode(own)[1:]}')
            kept = f'"timestamp":"{self._iso(stamp)}","timestamp_raw":{stamp},{kept}'
        if not own:
            return "{" + kept + "}"
        return "{" + kept + "," + self._encode_own.encode(own)[1:]

    def _general(self, event: Dict[str, Any]) -> str:
        return self._encode(event)


class ColumnLines(_RecordLines):
    """The column writer's row of an event: the process columns' cells kept."""

    def __init__(self, run: Any, writer: ColumnWriter) -> None:
        super().__init__(run)
        self._writer = writer
        self._columns = [(col.name.split(".", 1)[0], fit, field_getter(col.name))
                         for col, fit in zip(writer.cols, writer.fits)]
        # the time stamps are formatted only when a column shows one
        self._stamp_columns = self._stamped and any(top in _STAMPS for top, _, _ in self._columns)
        declared = self._declared  # a row computing only the fields shown
        self._install(declared and declared.column_line(
            self._decoder, [(col.name, fit) for col, fit in zip(writer.cols, writer.fits)],
            self._kept, self._declared_head, self._declared_general, self._iso, cell_text))

    def _declared_part(self, part: Dict[str, Any]) -> List[str]:
        """Every column's cell that is not the gadget's or a time stamp's: the process's,
        or empty (the general path's cell of a field no part of the event has)."""
        return [fit("") if text is None else text
                for text, (_, fit, _) in zip(self._format_process(part), self._columns)]

    def _format_process(self, part: Dict[str, Any]) -> List[Optional[str]]:
        return [fit(cell_text(get(part))) if top in part else None
                for top, fit, get in self._columns]

    def _compose(self, raw: Dict[str, Any], kept: List[Optional[str]],
                 own: Dict[str, Any]) -> str:
        stamps: Dict[str, Any] = {}
        if self._stamp_columns:
            stamp = raw["timestamp"]
            stamps = {"timestamp": self._iso(stamp), "timestamp_raw": stamp}
        return " ".join([fit(cell_text(get(stamps if top in _STAMPS else own)))
                         if text is None else text
                         for (top, fit, get), text in zip(self._columns, kept)]).rstrip()

    def _general(self, event: Dict[str, Any]) -> str:
        return self._writer.row(event)


def for_run(run: Any, writer: Any) -> Optional[_RecordLines]:
    """The lines of a started session for ``writer``, or None where only the
    general path gives the same output."""
    from .session import EventSession

    decoder = getattr(run, "_decoder", None)
    if (not isinstance(run, EventSession) or not run.keeps_every_event
            or type(run).batches is not EventSession.batches
            or type(run).present is not EventSession.present
            or run.gadget.other_processes
            or decoder is None or "proc" not in decoder.spans):
        return None
    if isinstance(writer, JSONWriter):
        return None if writer.fields or writer.drop else JSONLines(run, writer.encode)
    if isinstance(writer, ColumnWriter):
        return ColumnLines(run, writer)
    return None
