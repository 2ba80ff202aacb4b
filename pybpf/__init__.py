"""pybpf: load clang-built BPF objects from pure Python.

``import pybpf`` imports nothing but this namespace: each public name
(``load``, ``prepare``, ``Collection``, ``Map``, ``Program``, ``Link``, the
readers, the ELF parser's ``ObjectSpec``/``ProgramSpec``/``MapSpec``) is
imported from the module that owns it when first used (PEP 562), so a
program pays only for what it touches: a gadget's warm start (an object
prepared for this kernel, read from pybpf.prepared's cache) loads with the
syscall layer alone and never imports the ELF parser, the BTF machinery or
the kinds of links and readers it does not use.
"""
from __future__ import annotations

from pybpf.namespace import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.arch import arch_file, arch_object
    from pybpf.collection import Collection, load
    from pybpf.elf.reader import ObjectSpec
    from pybpf.elf.specs import MapSpec, ProgramSpec
    from pybpf.errors import BPFError
    from pybpf.links.base import Link
    from pybpf.maps import Map
    from pybpf.prepared import PreparedObject, prepare
    from pybpf.programs import Program
    from pybpf.readers.perf import PerfReader
    from pybpf.readers.ringbuf import RingBufReader

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on the name's first use)
_OWNERS = {
    "BPFError": "errors", "Collection": "collection", "Link": "links.base", "Map": "maps",
    "MapSpec": "elf.specs", "ObjectSpec": "elf.reader", "PerfReader": "readers.perf",
    "PreparedObject": "prepared", "Program": "programs", "ProgramSpec": "elf.specs",
    "RingBufReader": "readers.ringbuf", "arch_file": "arch", "arch_object": "arch",
    "load": "collection", "prepare": "prepared",
}

__all__ = [
    "BPFError", "Collection", "Link", "Map", "MapSpec", "ObjectSpec", "PerfReader",
    "PreparedObject", "Program", "ProgramSpec", "RingBufReader", "arch_file", "arch_object", "load",
    "prepare"
]

__getattr__, __dir__ = lazy(__name__, _OWNERS)
