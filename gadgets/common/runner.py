"""The run loop shared by every event-stream gadget.

GadgetRun takes a Gadget and the user's options, and on start: parses the
object, sets the filter constants (pid, tid, uid, gid, comm, mntns switch and
gadget parameters), loads it, fills ``gadget_mntns_filter_map`` with the
selected containers' mount namespaces, attaches every program and opens the
ring buffer. Iterating yields presented events (dicts), enriched with their
container and passed through the user-space filters. ``close()`` (or leaving
the ``with`` block) detaches and frees everything.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Union

import pybpf

from . import containers as ctr
from . import filters as flt
from .decode import Clock, EventDecoder, proc_fields
from .errors import GadgetError, GadgetUnavailableError
from .gadget import Gadget

LOST_MAP = "gadget_lost_events"
MNTNS_MAP = "gadget_mntns_filter_map"
_EMPTY_CONTAINER = {"name": "", "id": "", "runtime": ""}
BATCH_MAX = 256  # events handed over at once: bounds memory when the ring is full
GATHER = 0.02  # seconds a batch may wait for more events (pybpf.readers: gather)
REFRESH_INTERVAL = 2.0  # seconds between looks for new namespaces of the selected containers


def _int_option(name: str, value: Any, bits: int = 32) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise GadgetError(f"--{name}: expected a number, got {value!r}") from None
    if not 0 <= v < (1 << bits) - 1:
        raise GadgetError(f"--{name}: {v} is out of range")
    return v


class GadgetRun:
    """One run of a gadget; a context manager and an iterator of events."""

    def __init__(self, gadget: Gadget, *, container: Union[str, Sequence[str], None] = None,
                 host: bool = False, pid: Optional[int] = None, tid: Optional[int] = None,
                 uid: Optional[int] = None, gid: Optional[int] = None,
                 comm: Optional[str] = None, params: Optional[Dict[str, Any]] = None,
                 filters: Iterable[str] = (), timeout: Optional[float] = None,
                 enrich: bool = True, on_lost: Optional[Callable[[int, int], None]] = None,
                 check: bool = True, ring_size: Optional[int] = None) -> None:
        self.gadget = gadget
        if isinstance(container, str):
            container = [container]
        self.container_names = list(container or [])
        if host and self.container_names:
            raise GadgetError("--host and --container exclude each other")
        self.ids = {"pid": pid, "tid": tid, "uid": uid, "gid": gid}
        self.comm = comm
        if comm is not None and len(comm.encode()) > 15:
            raise GadgetError(f"--comm {comm!r}: a command name has at most 15 bytes")
        known = {p.name: p for p in gadget.params}
        self.params = dict(params or {})
        for name in self.params:
            if name not in known:
                raise GadgetError(f"gadget {gadget.name}: unknown parameter {name!r}")
        for p in gadget.params:
            value = self.params.setdefault(p.name, p.default)
            if isinstance(value, str) and p.type is not str:
                try:
                    self.params[p.name] = p.type(value)
                except ValueError as exc:
                    raise GadgetError(f"gadget {gadget.name}: {p.option}: {exc}") from None
        self.filters = flt.parse_all(filters, [f.name for f in gadget.all_fields])
        self.timeout = timeout
        self.on_lost = on_lost
        self.check = check
        if ring_size is not None and (ring_size < 4096 or ring_size & (ring_size - 1)):
            raise GadgetError(f"--ring-size {ring_size}: a power of two of at least 4096 bytes")
        self.ring_size = ring_size
        self.selected: List[ctr.Container] = []
        self.hook_set: Any = None  # the HookSet chosen, for gadgets with alternatives
        self.lost = 0
        self._enrich = enrich
        self._stop = threading.Event()
        self._coll: Any = None
        self._links: Any = None
        self._reader: Any = None
        self._decoder: Optional[EventDecoder] = None
        self._enricher: Optional[ctr.Enricher] = None
        self._clock = Clock()
        self._started = 0.0
        self._filtered: Set[int] = set()

    @property
    def collection(self) -> Any:
        """The loaded pybpf Collection (maps, programs) of a started run."""
        if self._coll is None:
            raise GadgetError(f"gadget {self.gadget.name}: not started")
        return self._coll

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> "GadgetRun":
        if self._coll is not None:
            return self
        spec = self._load_and_attach()
        try:
            self._open_source(spec)
        except BaseException:
            self.close()
            raise
        if self._enrich:
            self._enricher = ctr.Enricher()
        self._started = time.monotonic()
        return self

    def _load_and_attach(self) -> Any:
        """Check, select containers, set constants, load, fill the mntns
        filter map and attach every auto-attachable program; the ObjectSpec."""
        if self.check:
            ok, why = self.gadget.can_run()
            if not ok:
                raise GadgetUnavailableError(f"gadget {self.gadget.name}: {why}")
        if self.container_names:
            self.selected = ctr.select(self.container_names)
        spec = pybpf.ObjectSpec.from_file(str(self.gadget.object_path()))
        self._prepare_spec(spec)
        try:
            self._coll = pybpf.load(spec)
            self._add_mntns(self.selected)
            self._links = self._attach()
        except BaseException:
            self.close()
            raise
        finally:
            # the kernel BTF (mmap, type index) served CO-RE and attach targets;
            # a gadget loads once, so it need not stay resident while events flow
            from pybpf.core import release_kernel_btf
            release_kernel_btf()
        return spec

    def _prepare_spec(self, spec: Any) -> None:
        """Before load: filter constants, the chosen hook set, the ring size.
        Subclasses (MapRun) add their own changes of the spec here."""
        self._set_constants(spec)
        self._drop_unused_hook_sets(spec)
        if self.ring_size is not None and self.gadget.ringbuf in spec.maps:
            spec.maps[self.gadget.ringbuf].max_entries = self.ring_size

    def _attach(self) -> Any:
        """Attach the loaded programs; the LinkGroup that owns their links (closes
        what it made if one fails). Every auto-attachable program by default."""
        return self._coll.attach_all()

    def _drop_unused_hook_sets(self, spec: Any) -> None:
        """Keep the programs of the hook set chosen for this kernel only."""
        if not self.gadget.hook_sets:
            return
        from .probe import choose_hook_set

        chosen, why = choose_hook_set(self.gadget)
        if chosen is None:
            raise GadgetUnavailableError(f"gadget {self.gadget.name}: {why}")
        self.hook_set = chosen
        for other in self.gadget.hook_sets:
            for name in other.programs:
                if name not in chosen.programs:
                    spec.programs.pop(name, None)

    def _add_mntns(self, containers: Sequence[ctr.Container]) -> None:
        """Put the containers' mount namespaces in the kernel's filter map."""
        if not containers:
            return
        fmap = self._coll.maps[MNTNS_MAP]
        one = (1).to_bytes(fmap.value_size, sys.byteorder)
        for c in containers:
            for ns in c.mntns_ids - self._filtered:
                fmap[ns.to_bytes(fmap.key_size, sys.byteorder)] = one
                self._filtered.add(ns)

    def refresh_containers(self) -> None:
        """Follow the selected containers: mount namespaces they created since
        the start (a new process in a new namespace, a restart) join the
        filter. Called every few seconds while iterating."""
        if not self.selected or self._coll is None:
            return
        try:
            now = ctr.select(self.container_names)
        except GadgetError:
            return  # the container is gone for now; keep what is in the map
        self._add_mntns(now)

    def _open_source(self, spec: Any) -> None:
        """Where events come from: the ``events`` ring buffer, decoded from BTF.
        Gadgets with another source (trace_dns: packet sockets) override this
        and ``batches``."""
        self._decoder = EventDecoder(spec.btf, self.gadget.event_struct, self.gadget.raw_members)
        self._reader = pybpf.RingBufReader(self._coll.maps[self.gadget.ringbuf])

    def _set_constants(self, spec: Any) -> None:
        consts = spec.constants
        for name, value in self.ids.items():
            if value is not None:
                consts[f"gadget_targ_{name}"] = _int_option(name, value)
        if self.comm:
            raw = self.comm.encode()
            consts["gadget_targ_comm"] = raw + bytes(16 - len(raw))
        if self.selected:
            consts["gadget_filter_by_mntns"] = True
        for p in self.gadget.params:
            if p.constant is not None and self.params.get(p.name) is not None:
                consts[p.constant] = self.params[p.name]

    def stop(self) -> None:
        """Ask a running iteration to end (safe from another thread or a signal)."""
        self._stop.set()

    def close(self) -> None:
        for attr in ("_reader", "_links", "_coll"):
            obj = getattr(self, attr)
            setattr(self, attr, None)
            if obj is not None:
                obj.close()

    def __enter__(self) -> "GadgetRun":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- events ------------------------------------------------------------
    def present(self, record: Any) -> Dict[str, Any]:
        """One raw record -> the presented, enriched event."""
        assert self._decoder is not None
        raw = self._decoder.decode(record)
        proc = proc_fields(raw["proc"])
        c = self._enricher.lookup(proc["mntns_id"]) if self._enricher else None
        event: Dict[str, Any] = {}
        if "timestamp" in raw:
            event["timestamp"] = self._clock.iso(raw["timestamp"])
            event["timestamp_raw"] = raw["timestamp"]
        event["container"] = c.to_dict() if c else dict(_EMPTY_CONTAINER)
        event["proc"] = proc
        if self.gadget.present is not None:
            event.update(self.gadget.present(raw))
        for key in self.gadget.other_processes:
            other = event[key]
            oc = self._enricher.lookup(other["mntns_id"]) if self._enricher else None
            other["container"] = oc.to_dict() if oc else dict(_EMPTY_CONTAINER)
        return event

    def check_lost(self) -> None:
        """Read the lost-event counter; call on_lost(delta, total) if it grew."""
        if self._coll is None:
            return
        value = self._coll.maps[LOST_MAP][bytes(4)]
        total = value if isinstance(value, int) else int.from_bytes(bytes(value), "little")
        if total > self.lost:
            delta, self.lost = total - self.lost, total
            if self.on_lost is not None:
                self.on_lost(delta, total)

    def batches(self) -> Iterator[List[Dict[str, Any]]]:
        """Events grouped as the ring buffer hands them over (lists of at
        most BATCH_MAX, possibly empty): lets a writer flush once per batch."""
        self.start()
        deadline = None if self.timeout is None else self._started + self.timeout
        next_lost = time.monotonic() + 0.5
        next_refresh = time.monotonic() + REFRESH_INTERVAL
        present, filters = self.present, self.filters
        try:
            while not self._stop.is_set():
                wait = 0.2
                now = time.monotonic()
                if deadline is not None:
                    if now >= deadline:
                        break
                    wait = min(wait, deadline - now)
                out = []
                for record in self._reader.read_batch(timeout=wait, gather=GATHER):
                    event = present(record)
                    if not filters or flt.matches(filters, event):
                        out.append(event)
                        if len(out) >= BATCH_MAX:
                            yield out
                            out = []
                yield out
                if time.monotonic() >= next_lost:
                    self.check_lost()
                    next_lost = time.monotonic() + 0.5
                if time.monotonic() >= next_refresh:
                    self.refresh_containers()
                    next_refresh = time.monotonic() + REFRESH_INTERVAL
        finally:
            if self._coll is not None:
                self.check_lost()

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        for batch in self.batches():
            yield from batch
            if self._stop.is_set():
                break


def runner_for(gadget: Gadget) -> Callable[..., GadgetRun]:
    """The ``run(**options)`` function of a gadget module."""
    def run(**options: Any) -> GadgetRun:
        params = {k: options.pop(k) for k in list(options) if k in {p.name for p in gadget.params}}
        if params:
            options["params"] = {**options.get("params", {}), **params}
        return (gadget.runner or GadgetRun)(gadget, **options)
    run.__doc__ = (f"Run {gadget.name}: {gadget.description}\n\n"
                   "Options as GadgetRun: container, host, pid, tid, uid, gid, comm, filters, "
                   "timeout, and the gadget's parameters ("
                   + (", ".join(p.name for p in gadget.params) or "none") + ").")
    return run
