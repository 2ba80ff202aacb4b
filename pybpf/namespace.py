"""A package's public names, each imported from the module that defines it on first use.

A package's ``__init__`` lists its names and their modules and takes its
``__getattr__`` and ``__dir__`` from ``lazy(__name__, owners)`` (PEP 562):
``import pybpf`` then costs only the names a program touches, and
``from pybpf import load``, ``pybpf.load`` and ``__all__`` keep working, as
does a submodule reached from the package (``pybpf.links.attach`` after a bare
``import pybpf``), imported on that first use. The
package also imports the same names under ``if TYPE_CHECKING:`` so that type
checkers see them as they are.
"""
from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Tuple


def lazy(package: str, owners: Dict[str, str]) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose public name N lives in
    its submodule ``owners[N]``; a name found is kept in the package's namespace,
    so it is looked up once."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        owner = owners.get(name)
        if owner is None:  # a submodule, as an eager package's own imports made it reachable
            if not name.startswith("_"):
                try:
                    return importlib.import_module(f"{package}.{name}")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{package}.{name}":
                        raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{owner}"), name)
        namespace[name] = value
        return value

    def __dir__() -> List[str]:
        return sorted(set(namespace) | set(owners))

    return __getattr__, __dir__
