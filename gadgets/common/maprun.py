"""Runs of the gadgets that read maps and iterators (top, profile, snapshot).

:class:`MapRun` is a GadgetRun without a ring buffer: it takes the same
options (container, host, pid, tid, uid, gid, comm, params, filters,
timeout), sets the same filter constants, fills the mntns filter map, and
then attaches the programs the gadget names (all by default, with per-program
options such as a sampling frequency). The gadget reads its maps and
iterators itself, with the decoding and enrichment helpers here.

:func:`run_top` is the loop of every top gadget: collect rows each interval,
filter, sort, cut to ``--max-rows``, and show them in a LiveTable or as json
lines (one object per row per interval). :func:`main` is the command line of
these gadgets (``python -m gadgets.top_file``): the options of ``pybpf run``
plus the gadget's own.
"""
from __future__ import annotations

import argparse
import io
import json
import signal
import sys
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from . import filters as flt
from .decode import find_struct, proc_fields
from .errors import GadgetError
from .gadget import Gadget, Param
from .livetable import LiveTable, parse_sort, sort_rows
from .output import ColumnWriter
from .runner import _EMPTY_CONTAINER, GadgetRun


class MapRun(GadgetRun):
    """Load, filter and attach a gadget whose results live in maps or iterators.

    ``attach`` maps program names to attach options (``{"prog": {"freq": 49}}``);
    None attaches every program with no options. ``constants`` are extra
    ``.rodata`` values set before load; ``drop`` names programs not loaded
    (hooks this kernel lacks). Iterating a started run yields ``collect(run)``
    every ``interval`` seconds until --timeout or stop() (the library form of
    the top gadgets). ``tick(run)`` is called about once a second while a
    profile waits; ``state`` is the gadget's scratch space for this run.

    ``batches()`` is the GadgetRun protocol for these runs: a snapshot is one
    batch, a top gadget one batch per interval (unsorted), a profile one batch
    when it ends (--timeout, stop() or Ctrl-C). ``pybpf run`` hands these
    gadgets' options to their module's ``main(argv)`` (:func:`main`).
    """

    def __init__(self, gadget: Gadget, *, attach: Optional[Mapping[str, Mapping[str, Any]]] = None,
                 constants: Optional[Mapping[str, Any]] = None, drop: Iterable[str] = (),
                 collect: Optional[Callable[["MapRun"], List[Dict[str, Any]]]] = None,
                 interval: float = 1.0, tick: Optional[Callable[["MapRun"], None]] = None,
                 **options: Any) -> None:
        super().__init__(gadget, **options)
        self.collect = collect
        self.interval = interval
        if self.params.get("interval") is not None:
            self.interval = float(self.params["interval"])
        if self.params.get("sort") is not None:  # bad --sort: an error before loading
            try:
                parse_sort(str(self.params["sort"]), [f.name for f in gadget.all_fields])
            except ValueError as exc:
                raise GadgetError(f"gadget {gadget.name}: {exc}") from None
        self.tick = tick
        self.state: Dict[str, Any] = {}
        self.attach_opts = dict(attach) if attach is not None else None
        self.extra_constants = dict(constants or {})
        self.drop = set(drop)
        self.spec: Any = None
        self.links: Dict[str, Any] = {}
        self._codecs: Dict[Tuple[str, str], Any] = {}

    def _prepare_spec(self, spec: Any) -> None:
        super()._prepare_spec(spec)
        for name, value in self.extra_constants.items():
            spec.constants[name] = value
        for name in self.drop:
            spec.programs.pop(name, None)

    def _attach(self) -> Any:
        """The programs of ``attach`` (all by default), each with its options."""
        from pybpf.links import LinkGroup, attach as attach_program

        wanted = self.attach_opts
        if wanted is None:
            wanted = {name: {} for name in self._coll.programs}
        group = LinkGroup()
        try:
            for name, opts in wanted.items():
                link = attach_program(self._coll.programs[name], **dict(opts))
                group.add(link)
                self.links[name] = link
        except BaseException:
            group.close()
            raise
        return group

    def _open_source(self, spec: Any) -> None:
        """No ring buffer: the gadget reads maps and iterators, decoded from ``spec``'s BTF."""
        self.spec = spec

    def close(self) -> None:
        self.links = {}
        super().close()

    def __iter__(self) -> Iterator[List[Dict[str, Any]]]:  # type: ignore[override]
        if self.collect is None:
            raise GadgetError(f"gadget {self.gadget.name}: nothing to collect")
        self.start()
        while not self._stop.is_set():
            left = self.time_left()
            wait = self.interval if left is None else min(self.interval, left)
            if self._stop.wait(wait):
                break
            yield [r for r in self.collect(self) if self.keep(r)]
            if left is not None and self.time_left() == 0:
                break

    def batches(self) -> Iterator[List[Dict[str, Any]]]:  # type: ignore[override]
        if self.collect is None:
            raise GadgetError(f"gadget {self.gadget.name}: nothing to collect")
        self.start()
        if self.gadget.category == "top":
            yield from self
            return
        if self.gadget.category == "profile":
            wait_until_done(self, None if self.tick is None else lambda: self.tick(self))
        yield [r for r in self.collect(self) if self.keep(r)]

    # -- decoding ------------------------------------------------------------
    def struct_codec(self, name: str) -> Any:
        """The codec of struct ``name`` of the object's BTF."""
        from pybpf.btf import codec as btf_codec

        key = ("struct", name)
        if key not in self._codecs:
            btf = self.spec.btf
            self._codecs[key] = btf_codec.Codec.for_type(btf, find_struct(btf, name))
        return self._codecs[key]

    def _map_codecs(self, name: str) -> Tuple[Any, Any]:
        from pybpf.btf import codec as btf_codec

        key = ("map", name)
        if key not in self._codecs:
            ms = self.spec.maps[name]
            btf = self.spec.btf
            self._codecs[key] = (btf_codec.Codec.for_type(btf, ms.key_type_id),
                                 btf_codec.Codec.for_type(btf, ms.value_type_id))
        return self._codecs[key]

    def _decode_pair(self, name: str, key: Any, value: Any,
                     raw: Mapping[str, Tuple[int, int]]) -> Tuple[Any, Any]:
        kc, vc = self._map_codecs(name)
        if isinstance(key, (bytes, bytearray, memoryview)):
            key = kc.decode(bytes(key))
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            value = vc.decode(data)
            for member, (off, size) in raw.items():
                value[member] = data[off: off + size]
        return key, value

    def map_items(self, name: str, delete: bool = False,
                  raw_members: Sequence[str] = ()) -> List[Tuple[Any, Any]]:
        """Decoded (key, value) pairs of map ``name``; ``delete`` empties it as it
        reads; ``raw_members`` of the value are also kept as bytes (strings
        that hold several NUL-separated parts, such as gadget/path.h paths)."""
        m = self.collection.maps[name].raw  # bytes: raw_members are sliced from them
        raw: Dict[str, Tuple[int, int]] = {}
        if raw_members:
            from .decode import member_spans
            raw = member_spans(self.spec.btf, self.spec.maps[name].value_type_id, raw_members)
        pairs = m.lookup_and_delete_batch() if delete else list(m.items())
        return [self._decode_pair(name, k, v, raw) for k, v in pairs]

    def iterate(self, program: str, struct: str) -> List[Dict[str, Any]]:
        """One pass of iterator ``program``: its records decoded as ``struct``."""
        codec = self.struct_codec(struct)
        data = self.links[program].read()
        size = codec.size
        if len(data) % size:
            raise GadgetError(f"gadget {self.gadget.name}: iterator {program} wrote "
                              f"{len(data)} bytes, not a multiple of struct {struct} ({size})")
        return [codec.decode(data[i: i + size]) for i in range(0, len(data), size)]

    # -- presentation ---------------------------------------------------------
    def base_event(self, raw_proc: Mapping[str, Any]) -> Dict[str, Any]:
        """``{"container": ..., "proc": ...}`` from a decoded struct gadget_proc."""
        proc = proc_fields(dict(raw_proc))
        c = self._enricher.lookup(proc["mntns_id"]) if self._enricher else None
        return {"container": c.to_dict() if c else dict(_EMPTY_CONTAINER), "proc": proc}

    def keep(self, event: Mapping[str, Any]) -> bool:
        """Whether an event passes the user-space ``--filter``s."""
        return flt.matches(self.filters, event)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as stop() is called."""
        return self._stop.wait(seconds)

    def time_left(self) -> Optional[float]:
        """Seconds until --timeout (None without one); 0 once it passed."""
        if self.timeout is None:
            return None
        return max(self._started + self.timeout - time.monotonic(), 0.0)


# -- tables -------------------------------------------------------------------
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


def run_top(session: MapRun, *, interval: float, max_rows: int, sort: str, output: str,
            fields: Sequence[str] = (), count: Optional[int] = None,
            out: Any = None, keys: Any = None) -> int:
    """The loop of a top gadget: every ``interval`` seconds, ``session.collect`` rows.

    Rows are presented events (dicts with proc, container and the gadget's
    fields); ``--filter`` applies, then ``sort``, then ``max_rows``. Stops on
    --timeout, ``count`` intervals, q or Ctrl-C (in a terminal) or stop().
    """
    gadget = session.gadget
    keys_spec = parse_sort(sort, [f.name for f in gadget.all_fields])
    out = out if out is not None else sys.stdout
    shown = 0
    with LiveTable(out=out if output == "columns" else io.StringIO(), keys=keys) as table:
        while not session.stopped:
            wait = interval
            left = session.time_left()
            if left is not None:
                wait = min(wait, left)
            try:
                if not table.wait(wait):
                    break  # q
            except KeyboardInterrupt:
                break
            assert session.collect is not None
            now = time.time()
            stamp = _iso(now)
            rows = [{"timestamp": stamp, **r} for r in session.collect(session)]
            rows = sort_rows([r for r in rows if session.keep(r)], keys_spec)
            if max_rows > 0:
                rows = rows[:max_rows]
            if output == "json":
                for row in rows:
                    out.write(json.dumps(row, separators=(",", ":"), default=str) + "\n")
                out.flush()
            else:
                width = table.size()[0] if table.interactive else None
                header, lines = table_lines(gadget, fields, rows, width=width)
                clock = time.strftime("%H:%M:%S", time.localtime(now))
                table.show(f"{gadget.name} {clock}  interval {interval:g}s  rows {len(rows)}"
                           + ("  (q to quit)" if table.interactive else ""), header, lines)
            shown += 1
            if count and shown >= count:
                break
            if left is not None and session.time_left() == 0:
                break
    return 0


def _iso(seconds: float) -> str:
    """Wall-clock time as the framework writes event timestamps (ISO 8601, UTC)."""
    import datetime
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(
        timespec="microseconds").replace("+00:00", "Z")


# -- command line ---------------------------------------------------------------
def top_params(default_sort: str) -> List[Param]:
    """The common options of the top gadgets, as gadget parameters (so that
    ``pybpf run`` and the library take them too)."""
    return [
        Param("interval", "refresh every this many seconds (default 1)", float, 1.0),
        Param("max_rows", "show at most N rows per interval (0: all; default 20)", int, 20),
        Param("sort", f"comma list of fields, -field descending (default {default_sort})",
              str, default_sort),
        Param("count", "stop after N intervals", int, None),
    ]


def top_settings(params: Mapping[str, Any]) -> Dict[str, Any]:
    """run_top's interval, max_rows, sort and count from a run's parameters."""
    return {"interval": float(params["interval"]), "max_rows": int(params["max_rows"]),
            "sort": str(params["sort"]), "count": params.get("count")}


def session_from(gadget: Gadget, opts: argparse.Namespace,
                 factory: Optional[Callable[..., MapRun]] = None, **extra: Any) -> MapRun:
    """A run from parsed `pybpf run` options (gadget params included), made by
    ``factory(gadget, **options)`` (the gadget's runner) or MapRun."""
    from ..cli.run import run_options

    return (factory or MapRun)(gadget, **run_options(gadget, opts), **extra)


def main(gadget: Gadget, argv: Optional[Sequence[str]],
         add_options: Callable[[argparse.ArgumentParser], None],
         body: Callable[[argparse.Namespace], int]) -> int:
    """The command line of one map-reading gadget (``python -m gadgets.NAME`` and
    ``pybpf run NAME``); errors are one line on stderr."""
    from ..cli.run import gadget_parser, parse_fields, report_errors

    parser = gadget_parser(gadget)
    add_options(parser)
    opts = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    def checked() -> int:
        opts.fields = parse_fields(gadget, opts.fields)
        previous = signal.signal(signal.SIGTERM, lambda *_: _raise_interrupt())
        try:
            return body(opts)
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)

    return report_errors(gadget, checked)


def top_main(gadget: Gadget, argv: Optional[Sequence[str]],
             factory: Optional[Callable[..., MapRun]] = None) -> int:
    """The command line of a top gadget: its parameters, then the refreshing table."""
    def body(opts: argparse.Namespace) -> int:
        with session_from(gadget, opts, factory=factory) as session:
            return run_top(session, output=opts.output, fields=opts.fields,
                           **top_settings(session.params))

    return main(gadget, argv, lambda parser: None, body)


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


# -- formats shared by these gadgets ----------------------------------------------
_FILE_TYPES = {0o010000: "fifo", 0o020000: "char", 0o040000: "dir", 0o060000: "block",
               0o100000: "regular", 0o120000: "symlink", 0o140000: "socket"}


def file_type(mode: int) -> str:
    """The type of an inode mode: regular, dir, socket, fifo, char, block, symlink."""
    return _FILE_TYPES.get(mode & 0o170000, "other" if mode else "")


def ip_text(family: int, raw: Any) -> str:
    """An address from a 16-byte array (IPv4 in the first 4 bytes) as text."""
    import ipaddress
    data = bytes(raw) if not isinstance(raw, list) else bytes(b & 0xFF for b in raw)
    if family == 2:
        return str(ipaddress.IPv4Address(data[:4]))
    if family == 10:
        return str(ipaddress.IPv6Address(data[:16]))
    return ""


def wait_until_done(session: MapRun, tick: Optional[Callable[[], None]] = None) -> None:
    """Block until --timeout, stop() or Ctrl-C, calling ``tick`` about once a second."""
    try:
        while not session.stopped:
            left = session.time_left()
            if left == 0:
                break
            session.wait(min(1.0, left) if left is not None else 1.0)
            if tick is not None:
                tick()
    except KeyboardInterrupt:
        pass


def disk_name(major: int, minor: int) -> str:
    """The block device name of major:minor ("vda"), or "major:minor"."""
    try:
        with open(f"/sys/dev/block/{major}:{minor}/uevent") as fh:
            for line in fh:
                if line.startswith("DEVNAME="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return f"{major}:{minor}"
