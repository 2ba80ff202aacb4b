"""pybpf: load clang-built BPF objects from pure Python.

The public names are imported lazily so that ``import pybpf`` stays cheap
and the pure layer (ELF, BTF, CO-RE) is usable without touching the kernel.
"""
from __future__ import annotations

from pybpf._lazy import lazy_namespace

__version__ = "0.1.0"

_EXPORTS = {
    "ObjectSpec": "elf",
    "ProgramSpec": "elf",
    "MapSpec": "elf",
    "load": "collection",
    "Collection": "collection",
    "Map": "maps",
    "Program": "programs",
    "Link": "links",
    "RingBufReader": "readers",
    "PerfReader": "readers",
    "BPFError": "errors",
    "arch_object": "arch",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_namespace(globals(), _EXPORTS)
