"""Sessions of the gadgets that read maps and iterators (top, profile, snapshot).

:class:`MapSession` is a Session without a ring buffer: it takes the same
options, sets the same filter constants, fills the mntns filter map, and
attaches the programs (all by default; ``attach_options`` gives per-program
options such as a sampling frequency, set by the gadget's ``prepare``). The
gadget's ``collect(session)`` reads its maps and iterators with the decoding
and enrichment helpers here, and ``batches()`` hands the rows over the way
the gadget's category says (see common.session).
"""
from __future__ import annotations

import datetime
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from .decode import find_struct, member_spans, proc_fields
from .errors import GadgetError
from .gadget import Gadget, Param
from .livetable import parse_sort
from .options import duration, integer, text
from .session import Session


def top_params(default_sort: str) -> List[Param]:
    """The parameters of every top gadget (MapSession and the CLI's live table read them)."""
    return [
        Param("interval", "refresh every this long (seconds, or 500ms, 2s; default 1s)",
              duration("interval", minimum=0.01), 1.0),
        Param("max_rows", "show at most N rows per interval (0: all; default 20)",
              integer("max_rows", 0, 1 << 20), 20, aliases=("--max-entries",)),
        Param("sort", f"comma list of fields, -field descending (default {default_sort})",
              text, default_sort),
        Param("count", "stop after N intervals", integer("count", 1, 1 << 31), None),
    ]


class MapSession(Session):
    """Load, filter and attach a gadget whose results live in maps or iterators.

    ``attach_options`` maps program names to attach options
    (``{"prog": {"freq": 49}}``); None attaches every program with none.
    ``links`` holds each attached program's link (iterators are read
    through theirs); ``spec`` is the ObjectSpec, for BTF decoding.
    """

    def __init__(self, gadget: Gadget, **options: Any) -> None:
        super().__init__(gadget, **options)
        if gadget.collect is None:
            raise GadgetError(f"gadget {gadget.name}: declares nothing to collect")
        if self.params.get("sort") is not None:  # bad --sort: an error before loading
            try:
                parse_sort(str(self.params["sort"]), [f.name for f in gadget.all_fields])
            except ValueError as exc:
                raise GadgetError(f"gadget {gadget.name}: --sort: {exc}") from None
        self.attach_options: Optional[Dict[str, Dict[str, Any]]] = None
        #: how a top gadget waits between intervals: pause(seconds) -> False to end
        #: (the CLI's live table ends on q); by default until stop()
        self.pause: Callable[[float], bool] = lambda seconds: not self.wait(seconds)
        #: where a gadget says what takes long (profile_cpu's symbolising); the CLI's stderr
        self.progress: Callable[[str], None] = lambda text: None
        self.spec: Any = None
        self.links: Dict[str, Any] = {}
        self._codecs: Dict[Tuple[str, str], Any] = {}

    @property
    def interval(self) -> float:
        """Seconds between a top gadget's batches (its ``interval`` parameter)."""
        return float(self.params.get("interval") or 1.0)

    def _attach(self) -> Any:
        """The programs of ``attach_options`` (all by default), each with its options."""
        from pybpf.links import LinkGroup
        from pybpf.links import attach as attach_program

        wanted = self.attach_options
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

    def collect(self) -> List[Dict[str, Any]]:
        """The gadget's rows now, filtered, with the time they were read."""
        assert self.gadget.collect is not None
        stamp = _iso(time.time())
        return [{"timestamp": stamp, **r} for r in self.gadget.collect(self) if self.keep(r)]

    def batches(self) -> Iterator[List[Dict[str, Any]]]:
        self.start()
        category = self.gadget.category
        if category == "top":
            yield from self._intervals()
            return
        if category == "profile":
            self._wait_until_done()
        yield self.collect()

    def _intervals(self) -> Iterator[List[Dict[str, Any]]]:
        """One batch of rows per interval until --timeout, ``count`` intervals or stop()."""
        count = self.params.get("count")
        done = 0
        while not self.stopped:
            left = self.time_left()
            wait = self.interval if left is None else min(self.interval, left)
            if not self.pause(wait) or self.stopped:
                break
            yield self.collect()
            done += 1
            if (count and done >= count) or (left is not None and self.time_left() == 0):
                break

    def _wait_until_done(self) -> None:
        """Until --timeout, stop() or Ctrl-C, calling the gadget's ``tick`` about once a second."""
        try:
            while not self.stopped:
                left = self.time_left()
                if left == 0:
                    break
                self.wait(min(1.0, left) if left is not None else 1.0)
                if self.gadget.tick is not None:
                    self.gadget.tick(self)
        except KeyboardInterrupt:
            pass

    def __iter__(self) -> Iterator[List[Dict[str, Any]]]:  # type: ignore[override]
        """A top gadget's rows, one list per interval (the library form)."""
        yield from self.batches()

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
        """``{"runtime": ..., "k8s": ..., "proc": ...}`` from a decoded struct gadget_proc."""
        proc = proc_fields(dict(raw_proc))
        return {**self.container_of(proc["mntns_id"], proc["pid"]), "proc": proc}


def _iso(seconds: float) -> str:
    """Wall-clock time as the framework writes event timestamps (ISO 8601, UTC)."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(
        timespec="microseconds").replace("+00:00", "Z")
