"""Parse BPF ELF objects into specs (pure: bytes in, specs out).

The section table (``find_sec_def``: what a SEC() name means, which attaching
needs on every start) and the spec records are imported with the package; the
parser itself (``ObjectSpec`` and the variables over its data maps, which
bring the BTF machinery and pyelftools) on first use: a start from a prepared
object (pybpf.prepared) parses nothing.
"""
from __future__ import annotations

from typing import Any

from pybpf.elf.sections import SECTION_DEFS, SecDef, find_sec_def
from pybpf.elf.specs import Extern, FunctionSpec, MapSpec, ProgramSpec, Relocation

_PARSER = {"ObjectSpec": "reader", "internal_map_name": "reader", "object_name": "reader",
           "DataVariable": "variables", "Variables": "variables",
           "UnknownVariableError": "variables"}

__all__ = ["ObjectSpec", "ProgramSpec", "MapSpec", "FunctionSpec", "Relocation", "Extern",
           "SecDef", "SECTION_DEFS", "find_sec_def", "internal_map_name", "object_name",
           "DataVariable", "Variables", "UnknownVariableError"]


def __getattr__(name: str) -> Any:
    if name in _PARSER:  # deferred: the cold path's parser (see the module docstring)
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_PARSER[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
