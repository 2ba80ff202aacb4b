"""Turn an ObjectSpec's functions into per-program instruction streams.

``link_program(obj, name)`` appends subprograms and records map/extern
references (pure); ``pybpf.linker.externs`` resolves externs against the
kernel facts the loader passes in (``pybpf.kernel_facts`` reads the running
kernel's config and kallsyms).
"""
from __future__ import annotations

from pybpf.linker.link import ExternRef, LinkedProgram, MapRef, link_program

__all__ = ["link_program", "LinkedProgram", "MapRef", "ExternRef"]
