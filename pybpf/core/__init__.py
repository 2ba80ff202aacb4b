"""CO-RE (Compile Once - Run Everywhere) relocations, with libbpf's meaning.

The engine (pure: access, calc, candidates, compat, kinds, match, patch,
relocate, result, typeinfo) takes an object's local BTF, its CO-RE relocation
records, the instructions they point at and target BTF specs, and patches the
instructions in place. Unsatisfiable relocations are poisoned exactly as
libbpf does, so guarded code still loads. kernel, cache, cachedir, objects and
explain open the target (the running kernel's BTF, or one given by path) and
the on-disk cache.

- ``relocate(insns, relos, local, target, program)``: one program against
  target Specs (``as_targets(None or path)`` opens the kernel's or a file's).
- ``relocate_object({name: (insns, relos)}, local, target)``: one object,
  candidate pruning shared as libbpf, results cached on disk by hash.
- ``relocate_spec(obj, target)``: every function of an ObjectSpec.
- ``kernel_btf(path=None)`` / ``kernel_targets(path=None)``: target BTF, cached per
  process until ``release_kernel_btf()``.
- ``explain(obj, btf)`` / ``format_explanations``: what CO-RE does, as data/table.
- ``error_from_verifier(program, log, results, line_info)``: a verifier log
  that hit a poisoned instruction, as an error naming the relocation.
"""
from __future__ import annotations

from pybpf.core.explain import Explanation, error_from_verifier, explain, format_explanations
from pybpf.core.kernel import (
    TargetBTF,
    as_targets,
    kernel_btf,
    kernel_targets,
    load_btf_file,
    release_kernel_btf,
)
from pybpf.core.kinds import POISON_IMM, RelocKind, essential_name
from pybpf.core.objects import FunctionRelo, function_relos, relocate_object, relocate_spec, shifted
from pybpf.core.relocate import Session, relocate
from pybpf.core.result import CandidateInfo, RelocResult

__all__ = ["POISON_IMM", "CandidateInfo", "Explanation", "FunctionRelo", "RelocKind", "as_targets",
           "RelocResult", "Session", "TargetBTF", "error_from_verifier", "essential_name",
           "explain", "format_explanations", "function_relos", "kernel_btf", "kernel_targets",
           "load_btf_file", "release_kernel_btf", "relocate", "relocate_object", "relocate_spec",
           "shifted"]

