"""CO-RE for whole objects: every function's relocations, one session, disk cache.

Owns turning an ObjectSpec's .BTF.ext CO-RE records into per-function lists
(slot indexes relative to the function), choosing the target (running
kernel, a BTF path, or Specs given directly), and the cached path: when the
target is a file (or the kernel), results are looked up on disk by hash
before any target BTF is parsed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from pybpf import cachedir
from pybpf.btf.spec import Spec
from pybpf.core import cache as disk
from pybpf.core.kernel import Target, TargetBTF, as_targets, kernel_files
from pybpf.core.patch import apply
from pybpf.core.relocate import Session
from pybpf.core.result import RelocResult
from pybpf.errors import CoreRelocationError

if TYPE_CHECKING:
    from pybpf.elf.reader import ObjectSpec
    from pybpf.elf.specs import FunctionSpec

Programs = Mapping[str, Tuple[List[Any], Sequence[Any]]]


@dataclass
class FunctionRelo:
    """A CO-RE record with ``insn_off`` as a slot index within its function."""

    insn_off: int
    type_id: int
    access_str: str
    kind: int


def function_relos(obj: ObjectSpec) -> List[Tuple[FunctionSpec, List[FunctionRelo]]]:
    """(FunctionSpec, its relocations) for every function of ``obj`` that has any.

    The .BTF.ext stores byte offsets from the start of the ELF section; each
    record is given to the function whose slots contain it.
    """
    ext = getattr(obj, "btf_ext", None)
    if ext is None or not ext.core_relos:
        return []
    by_section: Dict[str, List[FunctionSpec]] = {}
    for (section, _), func in obj.functions.items():
        by_section.setdefault(section, []).append(func)
    out: Dict[int, Tuple[FunctionSpec, List[FunctionRelo]]] = {}
    for section, relos in ext.core_relos.items():
        fns = by_section.get(section, [])
        for r in relos:
            slot = r.insn_off // 8
            fn = next((f for f in fns if f.insn_offset <= slot < f.insn_end), None)
            if fn is None or r.insn_off % 8:
                raise CoreRelocationError(f"{obj.name}: CO-RE relocation at {section}+"
                                          f"{r.insn_off} is not inside any function")
            entry = out.setdefault(id(fn), (fn, []))
            entry[1].append(FunctionRelo(slot - fn.insn_offset, r.type_id, r.access_str,
                                         int(r.kind)))
    return list(out.values())


def target_source(target: Target) -> Tuple[Optional[List[str]], Callable[[], List[Spec]]]:
    """(files that identify the target, or None; how to get its specs when needed)."""
    files: Optional[List[str]] = None
    if target is None:
        files = kernel_files()
    elif isinstance(target, (str, os.PathLike)):
        files = [os.fspath(target)]
    elif isinstance(target, TargetBTF):
        files = list(target.paths) or None
    return files, lambda: as_targets(target)


def resolve_object(programs: Mapping[str, Sequence[Any]], local: Spec, target: Target = None,
                   *, cache: bool = True) -> Dict[str, List[RelocResult]]:
    """Compute (not apply) every program's relocations with one shared Session."""
    files, specs = target_source(target)
    key = None
    if cache and files is not None and cachedir.enabled():
        key = disk.object_key(files, local.to_bytes(), programs)
        hit = disk.load(key, programs)
        if hit is not None:
            return hit
    session = Session(local, specs())
    session.prefetch([r for relos in programs.values() for r in relos])
    results = {name: [session.resolve(r, name, i) for i, r in enumerate(relos)]
               for name, relos in programs.items()}
    if key is not None:
        disk.store(key, results)
    return results


def relocate_object(programs: Programs, local: Spec, target: Target = None,
                    *, cache: bool = True) -> Dict[str, List[RelocResult]]:
    """Relocate several programs (name -> (insns, relos)) of one object in place.

    ``target``: None for the running kernel (vmlinux, then modules), a path to
    a BTF file or ELF with .BTF, a TargetBTF, a Spec or a list of Specs.
    Results are cached on disk by content hash when the target is a file;
    instructions are validated and patched on every call.
    """
    results = resolve_object({n: r for n, (_, r) in programs.items()}, local, target,
                             cache=cache)
    for name, (insns, _) in programs.items():
        for res in results[name]:
            apply(insns, res)
    return results


def relocate_spec(obj: ObjectSpec, target: Target = None, *,
                  cache: bool = True) -> Dict[str, List[RelocResult]]:
    """Relocate every function of an ObjectSpec in place; results by function name."""
    pairs = function_relos(obj)
    if not pairs:
        return {}
    if obj.btf is None:
        raise CoreRelocationError(f"{obj.name}: CO-RE relocations but no .BTF section")
    programs = {fn.name: (fn.instructions, relos) for fn, relos in pairs}
    return relocate_object(programs, obj.btf, target, cache=cache)


def shifted(results: Sequence[RelocResult], delta: int) -> List[RelocResult]:
    """Copies of ``results`` with instruction indexes moved by ``delta`` (after linking)."""
    return [replace(r, insn=r.insn + delta) for r in results]
