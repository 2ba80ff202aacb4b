"""pybpf: load clang-built BPF objects from pure Python.

The public names are imported lazily so that ``import pybpf`` stays cheap
and the pure layer (ELF, BTF, CO-RE) is usable without touching the kernel.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "ObjectSpec": "pybpf.elf",
    "ProgramSpec": "pybpf.elf",
    "MapSpec": "pybpf.elf",
    "load": "pybpf.collection",
    "Collection": "pybpf.collection",
    "Map": "pybpf.maps",
    "Program": "pybpf.programs",
    "Link": "pybpf.links",
    "RingBufReader": "pybpf.readers",
    "PerfReader": "pybpf.readers",
    "BPFError": "pybpf.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pybpf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
