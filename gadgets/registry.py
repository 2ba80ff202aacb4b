"""The gadget registry: every module in the gadgets package that defines
``GADGET`` (a gadgets.common.gadget.Gadget)."""
from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Dict, List

import gadgets
from gadgets.common.errors import GadgetError
from gadgets.common.gadget import CATEGORIES, Gadget

_cache: Dict[str, Gadget] = {}
_broken: Dict[str, str] = {}


def _load() -> Dict[str, Gadget]:
    if not _cache:
        for info in pkgutil.iter_modules(gadgets.__path__):
            if info.ispkg or info.name == "registry":
                continue
            try:
                module = importlib.import_module(f"gadgets.{info.name}")
            except Exception as exc:  # one broken module must not hide the others
                _broken[info.name] = f"{type(exc).__name__}: {exc}"
                continue
            gadget = getattr(module, "GADGET", None)
            if isinstance(gadget, Gadget):
                _cache[gadget.name] = gadget
    return _cache


def import_errors() -> Dict[str, str]:
    """Modules in gadgets/ that failed to import, with the error (for `pybpf list`)."""
    _load()
    return dict(_broken)


def all_gadgets() -> List[Gadget]:
    """Every gadget, by category (trace, top, profile, snapshot) then name."""
    return sorted(_load().values(), key=lambda g: (CATEGORIES.index(g.category), g.name))


def get(name: str) -> Gadget:
    """The gadget called ``name``; GadgetError naming close matches if none.

    Gadget NAME lives in module gadgets.NAME: that one module is imported
    first, so running one gadget does not import every other one."""
    if name.isidentifier() and name != "registry":
        try:
            module = importlib.import_module(f"gadgets.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gadgets.{name}":
                raise
        else:
            gadget = getattr(module, "GADGET", None)
            if isinstance(gadget, Gadget) and gadget.name == name:
                return gadget
    found = _load().get(name)
    if found is None:
        close = difflib.get_close_matches(name, list(_load()), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise GadgetError(f"unknown gadget {name!r}{hint}; `pybpf list` shows them all")
    return found
