"""Sessions: one run of a gadget in the kernel, the protocol every gadget
kind (trace, top, profile, snapshot) is run through.

A :class:`Session` takes a Gadget and the user's options (common.options:
container, host, pid, tid, uid, gid, comm, filters, timeout, ring_size, and
the gadget's parameters), checks them, and on ``start()`` (or ``with``):
parses the object, sets the filter constants, loads it, fills
``gadget_mntns_filter_map`` with the selected containers' mount namespaces
and attaches the programs. ``batches()`` then yields lists of presented
events or rows (dicts, enriched with their container and passed through the
user-space filters) until --timeout or ``stop()``:

- trace (:class:`EventSession`): events as the ring buffer hands them over;
- top (common.mapsession.MapSession): the rows of one interval per batch;
- profile: one batch when it ends (--timeout, stop() or Ctrl-C);
- snapshot: one batch, now.

``close()`` (or leaving the ``with`` block) detaches and frees everything.
:func:`open_session` makes the session a gadget declares; the CLI, the
library form of each gadget (:func:`run_function`) and other consumers
(metrics) all go through it.
"""
from __future__ import annotations

import sys
import threading
import time
from types import SimpleNamespace

import pybpf
from pybpf.errors import BPFError

from . import probe
from .decode import Clock, EventDecoder, proc_fields
from .errors import GadgetError, GadgetUnavailableError
from .gadget import Gadget
from .hostns import host_mntns_id, host_proc, no_container
from .options import SESSION_OPTIONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Union

    from .containers import Container, Enricher
    from .filters import Filter
    from .selection import Selection


LOST_MAP = "gadget_lost_events"
MNTNS_MAP = "gadget_mntns_filter_map"
EMPTY_CONTAINER = no_container()
BATCH_MAX = 256  # events handed over at once: bounds memory when the ring is full
GATHER = 0.05  # seconds a batch may wait for more events (pybpf.readers: gather)
REFRESH_INTERVAL = 2.0  # seconds between looks at the selected containers (map kept in step)
_OPTIONS = {o.name: o for o in SESSION_OPTIONS}


def _checked(name: str, value: Any) -> Any:
    """``value`` of session option ``name`` through its parser (None stays None)."""
    if value is None:
        return None
    return _OPTIONS[name].parse(value)


def _containers() -> Any:
    """gadgets.common.containers (discovery, the runtimes' state), imported once a run
    selects containers or meets an event from outside the host's mount namespace: a
    run that sees the host alone never needs it."""
    from . import containers
    return containers


def _selection(names: List[str], runtimes: Any, namespace: Optional[str], pod: Optional[str],
               container: Optional[str], selector: Any) -> Optional[Selection]:
    """The user's container selection (names, runtimes, Kubernetes identity), or None
    when there is none."""
    if not (names or runtimes is not None or namespace or pod or container
            or selector is not None):
        return None
    from .selection import Selection

    chosen = Selection(names, _containers().ContainerFilter(
        _checked("runtimes", runtimes), namespace or "", pod or "", container or "",
        _checked("k8s_selector", selector) or {}))
    return chosen if chosen.active else None


class Session:
    """One run of a gadget; a context manager whose ``batches()`` yield its
    events or rows. Subclasses say where they come from (``_open_source``,
    ``batches``); this class loads, filters and attaches."""

    def __init__(self, gadget: Gadget, *, container: Union[str, Sequence[str], None] = None,
                 runtimes: Any = None, k8s_namespace: Optional[str] = None,
                 k8s_podname: Optional[str] = None, k8s_containername: Optional[str] = None,
                 k8s_selector: Any = None, host: bool = False, pid: Optional[int] = None, tid: Optional[int] = None,
                 uid: Optional[int] = None, gid: Optional[int] = None,
                 comm: Optional[str] = None, params: Optional[Dict[str, Any]] = None,
                 filters: Iterable[str] = (), timeout: Optional[float] = None,
                 ring_size: Optional[int] = None, enrich: bool = True,
                 on_lost: Optional[Callable[[int, int], None]] = None,
                 check: bool = True) -> None:
        self.gadget = gadget
        if isinstance(container, str):
            container = [container]
        self.container_names = list(container or [])
        #: what the user selected (None: every process, no container machinery at all)
        self.selection = _selection(self.container_names, runtimes, k8s_namespace, k8s_podname,
                                    k8s_containername, k8s_selector)
        if host and self.selection is not None:
            raise GadgetError("--host and --container (or --runtimes, --k8s-*) exclude each other")
        # "kernel": the mntns filter map holds the selected containers; "user":
        # every event reaches user space and is matched here (see selection.py)
        self.follow: Optional[str] = None
        self.ids = {"pid": _checked("pid", pid), "tid": _checked("tid", tid),
                    "uid": _checked("uid", uid), "gid": _checked("gid", gid)}
        self.comm = _checked("comm", comm)
        self.params = self._checked_params(params or {})
        self.filters: List[Filter] = []
        exprs = list(filters)
        if exprs:  # the filters' module (their parser and patterns) for a run that has some
            from . import filters as flt
            self.filters = flt.parse_all(exprs, gadget.all_fields)
        self.timeout = _checked("timeout", timeout)
        self.ring_size = _checked("ring_size", ring_size)
        self.on_lost = on_lost
        self.check = check
        self.selected: List[Container] = []
        self.hook_set: Any = None  # the HookSet chosen, for gadgets with alternatives
        self.lost = 0
        self.state: Dict[str, Any] = {}  # the gadget's scratch space for this session
        self._enrich = enrich
        self._stop = threading.Event()
        self._coll: Any = None
        self._links: Any = None
        self._reader: Any = None
        self._enricher: Optional[Enricher] = None  # made at the first event from a container
        self._host_mntns: Optional[int] = None
        self._clock = Clock()
        self._started = 0.0
        self._filtered: Set[int] = set()

    def _checked_params(self, given: Dict[str, Any]) -> Dict[str, Any]:
        """The gadget's parameters: every one present (its default when not
        given), each through its parser."""
        known = {p.name: p for p in self.gadget.params}
        for name in given:
            if name not in known:
                raise GadgetError(f"gadget {self.gadget.name}: unknown parameter {name!r}")
        out = {}
        for p in self.gadget.params:
            value = given.get(p.name, p.default)
            if value is not None:
                try:
                    value = p.parse(value)
                except ValueError as exc:  # GadgetError, or a gadget's own parser's
                    text = str(exc)
                    raise GadgetError(text if text.startswith(p.option)
                                      else f"{p.option}: {text}") from None
            out[p.name] = value
        return out

    @property
    def collection(self) -> Any:
        """The loaded pybpf Collection (maps, programs) of a started session."""
        if self._coll is None:
            raise GadgetError(f"gadget {self.gadget.name}: not started")
        return self._coll

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> "Session":
        if self._coll is not None:
            return self
        spec = self._load_and_attach()
        try:
            self._open_source(spec)
        except BaseException:
            self.close()
            raise
        self._host_mntns = host_mntns_id(host_proc())
        self._started = time.monotonic()
        return self

    def _load_and_attach(self) -> Any:
        """Check, select containers, set constants, load, fill the mntns
        filter map and attach the programs; the prepared object (or the ObjectSpec of
        a gadget that edits it), whose ``btf`` and ``maps`` describe what is read."""
        if self.check:  # the kernel features are probed only if the kernel refuses the load
            ok, why = probe.can_run(self.gadget, probe=False)
            if not ok:
                raise GadgetUnavailableError(f"gadget {self.gadget.name}: {why}")
        now: List[Container] = []
        if self.selection is not None:
            now = _containers().discover()
            self.selected, missing = self.selection.resolve(now)
            if missing and self.gadget.category == "snapshot":   # nothing to wait for
                raise GadgetError(f"no container {missing[0]!r} "
                                  f"(running: {_containers().running_names(now)})")
            self.follow = self.selection.mode(now)
            waiting = self.selection.waiting_line(now)
            if waiting:
                sys.stderr.write(f"pybpf run {self.gadget.name}: {waiting}\n")
        try:
            if self.gadget.prepare is None:
                spec = self._prepared()
            else:  # the gadget edits the ObjectSpec itself: prepared cold
                spec = self.gadget.object_spec()
                self._prepare_spec(spec)
            self._coll = pybpf.load(spec)
            self._sync_mntns(now)
            self._links = self._attach()
        except BaseException as exc:
            self.close()
            if self.check and isinstance(exc, (BPFError, OSError)) \
                    and not isinstance(exc, GadgetError):
                self._say_what_is_missing()
            raise
        finally:
            # the kernel BTF (mmap, type index) served a cold prepare's CO-RE and attach
            # targets; a gadget loads once, so it need not stay resident while events
            # flow. A warm start never imported the CO-RE package: nothing to release.
            core = sys.modules.get("pybpf.core")
            if core is not None:
                core.release_kernel_btf()
        return spec

    def _say_what_is_missing(self) -> None:
        """After the kernel refused the load or attach (or the object was not there):
        GadgetUnavailableError naming what this kernel lacks (a feature, the object),
        when the full check finds it; else the refusal stands."""
        ok, why = probe.can_run(self.gadget)
        if not ok:
            raise GadgetUnavailableError(f"gadget {self.gadget.name}: {why}") from None

    def _prepared(self) -> Any:
        """The object prepared for this kernel with the filter constants, the chosen
        hook set and the ring size (pybpf.prepare: from its cache when warm, so a
        start parses no ELF)."""
        edits = SimpleNamespace(constants={})
        self._set_constants(edits)
        sizes = {}
        if self.ring_size is not None and self.gadget.category == "trace" \
                and self.gadget.session is None:  # the default session reads the ring
            sizes[self.gadget.ringbuf] = self.ring_size
        path = self.gadget.object_location()
        source = path if isinstance(path, str) else path.read_bytes()
        return pybpf.prepare(source, name=str(path), constants=edits.constants,
                             max_entries=sizes, exclude=self._unused_programs())

    def _prepare_spec(self, spec: Any) -> None:
        """Before a cold load of a gadget with its own ``prepare``: filter constants,
        the chosen hook set, the ring size, then the gadget's ``prepare``."""
        self._set_constants(spec)
        for name in self._unused_programs():
            spec.programs.pop(name, None)
        if self.ring_size is not None and self.gadget.ringbuf in spec.maps:
            spec.maps[self.gadget.ringbuf].max_entries = self.ring_size
        self.gadget.prepare(self, spec)

    def _attach(self) -> Any:
        """Attach the loaded programs; the LinkGroup that owns their links (closes
        what it made if one fails). Every auto-attachable program by default."""
        return self._coll.attach_all()

    def _unused_programs(self) -> List[str]:
        """The programs of the hook sets not chosen for this kernel (left out of the load)."""
        if not self.gadget.hook_sets:
            return []
        chosen, why = probe.choose_hook_set(self.gadget)
        if chosen is None:
            raise GadgetUnavailableError(f"gadget {self.gadget.name}: {why}")
        self.hook_set = chosen
        return sorted({name for other in self.gadget.hook_sets for name in other.programs
                       if name not in chosen.programs})

    def _sync_mntns(self, containers: List[Container]) -> None:
        """Keep the kernel's filter map equal to the selected containers'
        mount namespaces: new ones (a container restarted, a new process in
        a new namespace) added, those of containers gone removed."""
        if self.follow != "kernel" or self.selection is None:
            return
        add, drop = self.selection.map_changes(containers, self._filtered)
        fmap = self._coll.maps[MNTNS_MAP]
        one = (1).to_bytes(fmap.value_size, sys.byteorder)
        for ns in add:
            fmap[ns.to_bytes(fmap.key_size, sys.byteorder)] = one
        for ns in drop:
            fmap.pop(ns.to_bytes(fmap.key_size, sys.byteorder), None)
        self._filtered = (self._filtered | add) - drop

    def refresh_containers(self) -> None:
        """Follow the selected containers as they come and go. Called every
        few seconds while iterating."""
        if self.follow != "kernel" or self._coll is None:
            return
        try:
            self._sync_mntns(_containers().discover())
        except GadgetError:
            return  # an id prefix became ambiguous: keep what is in the map

    def _open_source(self, spec: Any) -> None:
        """Where events or rows come from, once loaded (subclasses)."""

    def _set_constants(self, spec: Any) -> None:
        consts = spec.constants
        for name, value in self.ids.items():
            if value is not None:
                consts[f"gadget_targ_{name}"] = value
        if self.comm:
            raw = self.comm.encode()
            consts["gadget_targ_comm"] = raw + bytes(16 - len(raw))
        if self.follow == "kernel":
            consts["gadget_filter_by_mntns"] = True
        for p in self.gadget.params:
            if p.constant is not None and self.params.get(p.name) is not None:
                consts[p.constant] = self.params[p.name]

    def stop(self) -> None:
        """Ask a running iteration to end (safe from another thread or a signal)."""
        self._stop.set()
        reader = self._reader
        if reader is not None:  # a wait for events in progress ends now
            reader.wake()

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

    @property
    def filtered_by_process(self) -> bool:
        """Whether a container or process filter narrows what the kernel reports."""
        return bool(self.follow or self.comm or
                    any(v is not None for v in self.ids.values()))

    def close(self) -> None:
        for attr in ("_reader", "_links", "_coll"):
            obj = getattr(self, attr)
            setattr(self, attr, None)
            if obj is not None:
                obj.close()

    def __enter__(self) -> "Session":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- results -------------------------------------------------------------
    def container_of(self, mntns_id: int, pid: int = 0) -> Dict[str, Any]:
        """A mount namespace's container in ig's shape, ``{"runtime": {...},
        "k8s": {...}}`` (empty strings on the host); ``pid``, the event's
        process when known, guards against reused namespace numbers."""
        if not self._enrich or not mntns_id or mntns_id == self._host_mntns:
            return no_container()
        c = self._lookup(mntns_id, pid)
        return c.ig_fields() if c else no_container()

    def _lookup(self, mntns_id: int, pid: int) -> Optional[Container]:
        """The container of a mount namespace (gadgets.common.containers.Enricher)."""
        if self._enricher is None:
            self._enricher = _containers().Enricher()
        return self._enricher.lookup(mntns_id, pid)

    def selected_ns(self, mntns_id: int, pid: int = 0) -> bool:
        """Whether a mount namespace is one of the selected containers'
        (user-mode following; always true without a selection)."""
        if self.follow != "user" or self.selection is None:
            return True
        c = self._lookup(mntns_id, pid)
        assert self._enricher is not None
        return self.selection.matches(c, self._enricher.containers)

    @property
    def keeps_every_event(self) -> bool:
        """Whether ``keep`` is true of every event (no user-space selection or
        filter), so that output may skip it."""
        return not self.filters and self.follow != "user"

    def keep(self, event: Dict[str, Any]) -> bool:
        """Whether an event passes the container selection (when followed in
        user space) and the user-space ``--filter``s."""
        proc = event.get("proc")
        if self.follow == "user" and not (isinstance(proc, dict) and self.selected_ns(
                proc.get("mntns_id", 0), proc.get("pid", 0))):
            return False
        return all(f(event) for f in self.filters)  # a Filter is callable: no module needed

    def check_lost(self) -> None:
        """Report events the kernel could not hand over (sessions with a ring buffer)."""

    def batches(self) -> Iterator[List[Dict[str, Any]]]:
        """Lists of presented events or rows (see the module's docstring)."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        for batch in self.batches():
            yield from batch
            if self._stop.is_set():
                break


class EventSession(Session):
    """A trace gadget's session: events from the ``events`` ring buffer,
    decoded from BTF and presented by the gadget."""

    _decoder: Optional[EventDecoder] = None

    def _open_source(self, spec: Any) -> None:
        self._decoder = EventDecoder(spec, self.gadget.event_struct, self.gadget.raw_members)
        self._reader = pybpf.RingBufReader(self._coll.maps[self.gadget.ringbuf])

    def present(self, record: Any) -> Dict[str, Any]:
        """One raw record -> the presented, enriched event."""
        assert self._decoder is not None
        raw = self._decoder.decode(record)
        proc = proc_fields(raw["proc"])
        event: Dict[str, Any] = {}
        if "timestamp" in raw:
            event["timestamp"] = self._clock.iso(raw["timestamp"])
            event["timestamp_raw"] = raw["timestamp"]
        event.update(self.container_of(proc["mntns_id"], proc["pid"]))
        event["proc"] = proc
        if self.gadget.present is not None:
            event.update(self.gadget.present(raw))
        for key in self.gadget.other_processes:
            other = event[key]
            other.update(self.container_of(other["mntns_id"]))
        return event

    def check_lost(self) -> None:
        """Read the lost-event counter; call on_lost(delta, total) if it grew."""
        if self._coll is None:
            return
        # raw: typing the counter's map would parse the object's BTF for one u64
        total = int.from_bytes(self._coll.maps[LOST_MAP].raw[bytes(4)], "little")
        if total > self.lost:
            delta, self.lost = total - self.lost, total
            if self.on_lost is not None:
                self.on_lost(delta, total)

    def batches(self, render: Optional[Any] = None) -> Iterator[List[Any]]:
        """Events grouped as the ring buffer hands them over (lists of at
        most BATCH_MAX, possibly empty): lets a writer flush once per batch.
        ``render``: an object whose ``line(record)`` replaces presenting (the
        CLI's lines, gadgets.common.lines, for runs without filters);
        its ``fresh()`` is called once per batch."""
        self.start()
        deadline = None if self.timeout is None else self._started + self.timeout
        next_lost = time.monotonic() + 0.5
        next_refresh = time.monotonic() + REFRESH_INTERVAL
        present, keep = self.present, self.keep
        try:
            while not self._stop.is_set():
                wait = 0.2
                now = time.monotonic()
                if deadline is not None:
                    if now >= deadline:
                        break
                    wait = min(wait, deadline - now)
                if render is not None:
                    render.fresh()
                records = self._reader.read_batch(timeout=wait, gather=GATHER)
                if not records:
                    yield []
                for start in range(0, len(records), BATCH_MAX):
                    chunk = records[start:start + BATCH_MAX]
                    if render is not None:  # lines.for_run: only where keep() passes every event
                        yield list(map(render.line, chunk))
                    else:
                        yield [event for event in map(present, chunk) if keep(event)]
                if time.monotonic() >= next_lost:
                    self.check_lost()
                    next_lost = time.monotonic() + 0.5
                if time.monotonic() >= next_refresh:
                    self.refresh_containers()
                    next_refresh = time.monotonic() + REFRESH_INTERVAL
        finally:
            if self._coll is not None:
                self.check_lost()


def open_session(gadget: Gadget, **options: Any) -> Session:
    """A session of ``gadget`` (not started): the class it declares, or its
    category's. ``options`` are Session's keywords; the gadget's parameters
    may be given by name too (``trace_open``'s ``paths=True``)."""
    names = {p.name for p in gadget.params}
    params = dict(options.pop("params", None) or {})
    for key in [k for k in options if k in names]:
        params[key] = options.pop(key)
    cls = gadget.session
    if cls is None:
        if gadget.category == "trace":
            cls = EventSession
        else:
            from .mapsession import MapSession
            cls = MapSession
    return cls(gadget, params=params, **options)


def run_function(gadget: Gadget) -> Callable[..., Any]:
    """The library form of a gadget, its module's ``run(**options)``: a session
    to use with ``with`` (iterating it yields events, or a top gadget's rows
    per interval); for a snapshot gadget, the snapshot's rows."""
    def run(**options: Any) -> Any:
        session = open_session(gadget, **options)
        if gadget.category != "snapshot":
            return session
        with session:
            return next(session.batches())
    run.__doc__ = (f"Run {gadget.name}: {gadget.description}\n\n"
                   "Options as Session: container, host, pid, tid, uid, gid, comm, filters, "
                   "timeout, ring_size, on_lost, and the gadget's parameters ("
                   + (", ".join(p.name for p in gadget.params) or "none") + ").")
    return run
