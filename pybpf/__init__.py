"""pybpf: load clang-built BPF objects from pure Python.

``import pybpf`` brings the kernel half: loading (``load``, ``prepare``,
``Collection``), maps, programs, links and readers, none of which parses ELF
or BTF: an object prepared for this kernel (pybpf.prepared, cached between
runs) loads with the syscall layer alone. The ELF parser's names
(``ObjectSpec``, ``ProgramSpec``, ``MapSpec``) are the one deferred import:
they are needed only by callers that edit an object themselves or on a cold
start, and importing them costs pyelftools and the BTF machinery.
"""
from __future__ import annotations

from typing import Any

from pybpf.arch import arch_file, arch_object
from pybpf.collection import Collection, load
from pybpf.errors import BPFError
from pybpf.links import Link
from pybpf.maps import Map
from pybpf.prepared import PreparedObject, prepare
from pybpf.programs import Program
from pybpf.readers import PerfReader, RingBufReader

__version__ = "0.1.0"

_ELF_NAMES = ("MapSpec", "ObjectSpec", "ProgramSpec")

__all__ = ["BPFError", "Collection", "Link", "Map", "MapSpec", "ObjectSpec", "PerfReader",
           "PreparedObject", "Program", "ProgramSpec", "RingBufReader", "arch_file", "arch_object",
           "load", "prepare"]


def __getattr__(name: str) -> Any:
    if name in _ELF_NAMES:  # deferred: the cold path's parser (see the module docstring)
        from pybpf import elf
        return getattr(elf, name)
    raise AttributeError(f"module 'pybpf' has no attribute {name!r}")
