"""The gadget registry: every gadget registered under the ``pybpf.gadgets``
entry-point group, ours (pyproject.toml) and any other installed package's.

An entry is ``NAME = "package.module:GADGET"``, its value a
common.gadget.Gadget called NAME. Running one gadget loads its entry alone,
so it does not import every other gadget.
"""
from __future__ import annotations

from pybpf.cli import entry_points

from .common.errors import GadgetError
from .common.gadget import CATEGORIES, Gadget

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List

GROUP = "pybpf.gadgets"

_cache: Dict[str, Gadget] = {}
_broken: Dict[str, str] = {}


def entries() -> Dict[str, Any]:
    """The registered entry points, by gadget name (not loaded)."""
    return {ep.name: ep for ep in entry_points(GROUP)}


def _load_entry(ep: Any) -> Gadget:
    """The Gadget an entry names; GadgetError when it is something else."""
    if ep.name not in _cache:
        gadget = ep.load()
        if not isinstance(gadget, Gadget) or gadget.name != ep.name:
            raise GadgetError(f"entry point {ep.name} = {ep.value} is not a Gadget "
                              f"named {ep.name!r}")
        _cache[ep.name] = gadget
    return _cache[ep.name]


def _load_all() -> Dict[str, Gadget]:
    for name, ep in entries().items():
        if name in _cache or name in _broken:
            continue
        try:
            _load_entry(ep)
        except Exception as exc:  # one broken module must not hide the others
            _broken[name] = f"{type(exc).__name__}: {exc}"
    return _cache


def import_errors() -> Dict[str, str]:
    """Registered gadgets whose module failed to load, with the error (for `pybpf list`)."""
    _load_all()
    return dict(_broken)


def all_gadgets() -> List[Gadget]:
    """Every gadget, by category (trace, top, profile, snapshot) then name."""
    return sorted(_load_all().values(), key=lambda g: (CATEGORIES.index(g.category), g.name))


def get(name: str) -> Gadget:
    """The gadget called ``name``; GadgetError naming close matches if none."""
    found = entries()
    ep = found.get(name)
    if ep is None:
        import difflib  # for this error alone: not a cost of every start

        close = difflib.get_close_matches(name, list(found), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise GadgetError(f"unknown gadget {name!r}{hint}; `pybpf list` shows them all")
    return _load_entry(ep)
