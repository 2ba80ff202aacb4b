"""CO-RE (Compile Once - Run Everywhere) relocations, with libbpf's meaning.

Pure layer: takes an object's local BTF, its CO-RE relocation records and the
instructions they point at, and a target BTF (the running kernel's, or one
given by path), and patches the instructions in place. Unsatisfiable
relocations are poisoned exactly as libbpf does, so guarded code still loads.
"""
from __future__ import annotations

from pybpf.core.kinds import POISON_IMM, RelocKind, essential_name
from pybpf.core.relocate import Session, relocate
from pybpf.core.result import CandidateInfo, RelocResult

__all__ = ["POISON_IMM", "CandidateInfo", "RelocKind", "RelocResult", "Session",
           "essential_name", "relocate"]
