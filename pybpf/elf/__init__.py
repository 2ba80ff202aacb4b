"""Parse BPF ELF objects into specs (pure: bytes in, specs out)."""
from __future__ import annotations

from pybpf.elf.reader import ObjectSpec, internal_map_name, object_name
from pybpf.elf.sections import SECTION_DEFS, SecDef, find_sec_def
from pybpf.elf.specs import Extern, FunctionSpec, MapSpec, ProgramSpec, Relocation
from pybpf.elf.variables import DataVariable, UnknownVariableError, Variables

__all__ = ["ObjectSpec", "ProgramSpec", "MapSpec", "FunctionSpec", "Relocation", "Extern",
           "SecDef", "SECTION_DEFS", "find_sec_def", "internal_map_name", "object_name",
           "DataVariable", "Variables", "UnknownVariableError"]
