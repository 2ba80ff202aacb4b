"""What ``pybpf serve`` runs: gadgets, their labels and options, where to listen.

Two sources, merged: a JSON file (``--config``) and the command line
(``GADGET`` or ``GADGET:FIELD,FIELD`` arguments, ``--listen``,
``--interval``, ``--max-series``, ``-c``). The file::

    {"listen": "127.0.0.1:9431", "interval": 5, "max_series": 2000,
     "gadgets": {
        "trace_exec": {"labels": ["runtime.containerName", "error"]},
        "top_tcp": {"labels": ["proc.comm", "dst"], "container": ["web"]},
        "profile_blockio": {"params": {"per_disk": true}}}}

Per gadget: ``labels`` (field names, as ``--fields`` takes them), ``params``
(the gadget's parameters), ``interval``, and the run filters ``container``,
``host``, ``pid``, ``tid``, ``uid``, ``gid``, ``comm``, ``filters``.
Everything is checked here, before anything is loaded: an unknown gadget,
key, field or a value of the wrong type is one GadgetError naming where it
was written.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import registry as gadget_registry
from ..common.errors import GadgetError
from ..common.gadget import Gadget
from . import families as fam
from .defaults import DEFAULT_INTERVAL, DEFAULT_LISTEN, DEFAULT_MAX_SERIES
from .server import parse_listen

CONFIG_MAX_BYTES = 1 << 20

_TOP_KEYS = {"listen", "interval", "max_series", "gadgets"}
_RUN_KEYS = {"container": (str, list), "host": (bool,), "pid": (int,), "tid": (int,),
             "uid": (int,), "gid": (int,), "comm": (str,), "filters": (list,)}
_GADGET_KEYS = {"labels", "params", "interval"} | set(_RUN_KEYS)


@dataclass
class GadgetPlan:
    """One gadget to serve: label fields, read interval, session options."""

    gadget: Gadget
    labels: Tuple[str, ...]
    interval: float
    options: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ServePlan:
    host: str
    port: int
    max_series: int
    gadgets: List[GadgetPlan]


def read_file(path: str) -> Dict[str, Any]:
    """The JSON object in ``path`` (at most 1 MiB)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(CONFIG_MAX_BYTES + 1)
    except OSError as exc:
        raise GadgetError(f"--config {path}: {exc.strerror}") from None
    if len(data) > CONFIG_MAX_BYTES:
        raise GadgetError(f"--config {path}: larger than {CONFIG_MAX_BYTES} bytes")
    try:
        doc = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise GadgetError(f"--config {path}: not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise GadgetError(f"--config {path}: expected a JSON object")
    return doc


def parse_gadget_arg(text: str) -> Tuple[str, Optional[List[str]]]:
    """``GADGET`` -> (GADGET, None); ``GADGET:F1,F2`` -> (GADGET, [F1, F2])."""
    name, sep, rest = text.partition(":")
    if not sep:
        return name, None
    return name, [f.strip() for f in rest.split(",") if f.strip()]


def _interval(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise GadgetError(f"{where}: interval {value!r}: expected a number of seconds above 0")
    return float(value)


def _gadget_plan(name: str, entry: Mapping[str, Any], where: str, interval: float,
                 container: Sequence[str]) -> GadgetPlan:
    gadget = gadget_registry.get(name)
    why = fam.supported(gadget)
    if why:
        raise GadgetError(f"{where}: gadget {name} {why}")
    unknown = sorted(set(entry) - _GADGET_KEYS)
    if unknown:
        raise GadgetError(f"{where}: unknown key {unknown[0]!r} (known: "
                          f"{', '.join(sorted(_GADGET_KEYS))})")
    labels = entry.get("labels")
    if labels is None:
        labels = list(fam.default_labels(gadget))
    elif gadget.name in fam.PROFILE:
        raise GadgetError(f"{where}: {name} is labelled by its grouping parameter "
                          f"({fam.PROFILE[name].label}), not by 'labels'")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise GadgetError(f"{where}: labels: expected a list of field names")
    for path in labels:
        gadget.field(path)  # GadgetError naming the gadget and the known fields
    names = [fam.label_name(p) for p in labels]
    if len(set(names)) != len(names):
        raise GadgetError(f"{where}: labels {labels} give one label name twice")
    options: Dict[str, Any] = {}
    for key, types in _RUN_KEYS.items():
        if key in entry:
            value = entry[key]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise GadgetError(f"{where}: {key} {value!r}: expected "
                                  f"{' or '.join(t.__name__ for t in types)}")
            options[key] = value
    if container and "container" not in options and not options.get("host"):
        options["container"] = list(container)
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise GadgetError(f"{where}: params: expected an object of the gadget's parameters")
    options["params"] = {**fam.DEFAULT_PARAMS.get(name, {}), **params}
    every = _interval(entry["interval"], where) if "interval" in entry else interval
    return GadgetPlan(gadget, tuple(labels), every, options)


def plan(doc: Mapping[str, Any], source: str, gadget_args: Sequence[str] = (),
         listen: Optional[str] = None, interval: Optional[float] = None,
         max_series: Optional[int] = None, container: Sequence[str] = ()) -> ServePlan:
    """The checked plan of a config document (``{}`` without a file) and the
    command line's values, which win over the file's."""
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise GadgetError(f"{source}: unknown key {unknown[0]!r} (known: "
                          f"{', '.join(sorted(_TOP_KEYS))})")
    host, port = parse_listen(listen or str(doc.get("listen", DEFAULT_LISTEN)))
    every = _interval(interval if interval is not None else doc.get("interval", DEFAULT_INTERVAL),
                      source)
    cap = max_series if max_series is not None else doc.get("max_series", DEFAULT_MAX_SERIES)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise GadgetError(f"{source}: max_series {cap!r}: expected a whole number above 0")
    entries = doc.get("gadgets", {})
    if not isinstance(entries, dict):
        raise GadgetError(f"{source}: gadgets: expected an object of gadget names")
    wanted: Dict[str, Tuple[Dict[str, Any], str]] = {
        name: (entry, f"{source}: gadgets.{name}") for name, entry in entries.items()}
    for arg in gadget_args:
        name, labels = parse_gadget_arg(arg)
        entry = dict(wanted.get(name, ({}, ""))[0])
        if labels is not None:
            entry["labels"] = labels
        wanted[name] = (entry, f"pybpf serve {arg}")
    if not wanted:
        raise GadgetError("pybpf serve: no gadget to serve (name some, or give --config)")
    plans = []
    for name, (entry, where) in wanted.items():
        if not isinstance(entry, dict):
            raise GadgetError(f"{where}: expected an object")
        try:
            plans.append(_gadget_plan(name, entry, where, every, container))
        except GadgetError as exc:
            text = str(exc)
            raise GadgetError(text if text.startswith(where) else f"{where}: {text}") from None
    return ServePlan(host, port, cap, plans)
