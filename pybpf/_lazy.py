"""Lazy package namespaces: a package's public names imported from their modules on first use.

Importing one module of a package (``pybpf.sys.consts``, say) runs the
package's ``__init__``; with these hooks that no longer imports every module
the package re-exports, which keeps a load from paying for code it does not run.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, Iterable, Mapping, Tuple


def lazy_namespace(namespace: Dict[str, Any], exports: Mapping[str, str],
                   submodules: Iterable[str] = ()) -> Tuple[Callable[[str], Any],
                                                            Callable[[], list]]:
    """The module ``__getattr__`` and ``__dir__`` of the package whose globals are
    ``namespace``.

    ``exports`` maps a public name to the module defining it, named relative to the
    package; the name is imported on first access and then kept in the namespace.
    ``submodules`` (names relative to the package) are reachable as attributes
    without being imported first, as they were when the package imported them.
    """
    package = namespace["__name__"]
    reachable = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            if name in reachable:
                return importlib.import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
