"""Parse BPF ELF objects into specs (pure: bytes in, specs out).

Each public name is imported from its module on first use (pybpf.namespace):
the section table (``find_sec_def``: what a SEC() name means, which attaching
needs on every start) costs nothing else, and the parser (``ObjectSpec`` and
the variables over its data maps, which bring the BTF machinery and
pyelftools) is imported only where an object is parsed: a start from a
prepared object (pybpf.prepared) parses nothing.
"""
from __future__ import annotations

from pybpf.namespace import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.elf.reader import ObjectSpec, internal_map_name, object_name
    from pybpf.elf.sections import SECTION_DEFS, SecDef, find_sec_def
    from pybpf.elf.specs import Extern, FunctionSpec, MapSpec, ProgramSpec, Relocation
    from pybpf.elf.variables import DataVariable, UnknownVariableError, Variables

#: public name -> the module of this package that defines it
_OWNERS = {
    "DataVariable": "variables", "Extern": "specs", "FunctionSpec": "specs", "MapSpec": "specs",
    "ObjectSpec": "reader", "ProgramSpec": "specs", "Relocation": "specs",
    "SECTION_DEFS": "sections", "SecDef": "sections", "UnknownVariableError": "variables",
    "Variables": "variables", "find_sec_def": "sections", "internal_map_name": "reader",
    "object_name": "reader",
}

__all__ = [
    "DataVariable", "Extern", "FunctionSpec", "MapSpec", "ObjectSpec", "ProgramSpec", "Relocation",
    "SECTION_DEFS", "SecDef", "UnknownVariableError", "Variables", "find_sec_def",
    "internal_map_name", "object_name"
]

__getattr__, __dir__ = lazy(__name__, _OWNERS)
