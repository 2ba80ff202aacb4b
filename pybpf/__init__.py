"""pybpf: load clang-built BPF objects from pure Python.

The public names are imported lazily so that ``import pybpf`` stays cheap
and the pure layer (ELF, BTF, CO-RE) is usable without touching the kernel.
"""
from __future__ import annotations

from pybpf._lazy import lazy_namespace

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


__getattr__, __dir__ = lazy_namespace(globals(), _EXPORTS)
