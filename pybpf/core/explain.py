"""Say what CO-RE did to an object, and why a load failed on a poisoned instruction.

Owns ``explain`` (every relocation of an object resolved against a target,
errors recorded instead of raised), ``format_explanations`` (a readable
table) and ``error_from_verifier`` (a verifier log that hit a poisoned
instruction turned into an error naming program, instruction, relocation
and source line).
"""
from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, List, Optional, Sequence, Union

from pybpf.core.kinds import POISON_IMM, RelocKind
from pybpf.core.objects import FunctionRelo, function_relos, target_source
from pybpf.core.patch import apply
from pybpf.core.relocate import Session
from pybpf.core.result import RelocResult
from pybpf.core.typeinfo import spell
from pybpf.errors import BPFError, CoreRelocationError

if TYPE_CHECKING:
    from pybpf.btf.ext import LineInfo
    from pybpf.btf.spec import Spec
    from pybpf.core.kernel import Target
    from pybpf.elf.reader import ObjectSpec

#: The record explain() returns: a RelocResult (``error`` set when it failed).
Explanation = RelocResult

# compiled on first use (re caches it), not when pybpf.core is imported
_POISON_CALL = r"^(\d+): \(85\) call unknown#%d\b" % POISON_IMM
_INVALID_FUNC = f"invalid func unknown#{POISON_IMM}"


def _open(obj: Union[ObjectSpec, str, "os.PathLike[str]"]) -> ObjectSpec:
    if isinstance(obj, (str, os.PathLike)):
        from pybpf.elf.reader import ObjectSpec
        return ObjectSpec.from_file(obj)
    return obj


def explain(obj: Union[ObjectSpec, str, "os.PathLike[str]"], btf: Target = None) -> List[RelocResult]:
    """Resolve every CO-RE relocation of ``obj`` (ObjectSpec or path) against ``btf``.

    ``btf``: None for the running kernel, a path, or Spec(s). Each result is
    applied to a copy of its function's instructions (``patch`` says what
    changed); ``obj`` is left untouched. A relocation that would fail the
    load is returned with its ``error`` text instead of raising.
    """
    spec = _open(obj)
    pairs = function_relos(spec)
    if not pairs:
        return []
    if spec.btf is None:
        raise CoreRelocationError(f"{spec.name}: CO-RE relocations but no .BTF section")
    _, specs = target_source(btf)
    session = Session(spec.btf, specs())
    out: List[RelocResult] = []
    for fn, relos in pairs:
        insns = [insn.copy() for insn in fn.instructions]
        for i, relo in enumerate(relos):
            try:
                kind = RelocKind(relo.kind)
            except ValueError:
                raise CoreRelocationError(f"{spec.name}: program {fn.name!r}: insn "
                                          f"#{relo.insn_off}: relocation kind {relo.kind} is "
                                          "unknown to pybpf") from None
            try:
                res = session.resolve(relo, fn.name, i)
            except CoreRelocationError as exc:
                res = RelocResult(fn.name, i, relo.insn_off, kind, relo.type_id,
                                  relo.access_str, _local_text(spec.btf, relo), error=str(exc))
            else:
                try:
                    apply(insns, res)
                except CoreRelocationError as exc:
                    res.error = str(exc)
            out.append(res)
    return out


def _local_text(local: Spec, relo: FunctionRelo) -> str:
    try:
        return f"{spell(local, relo.type_id)} ({relo.access_str})"
    except (KeyError, IndexError, ValueError, BPFError):
        return f"[{relo.type_id}] {relo.access_str}"


def _outcome(res: RelocResult) -> str:
    if res.error:
        return "ERROR: " + res.error.splitlines()[0].split(": ", 3)[-1]
    if res.poison:
        return "POISON: " + res.reason
    if res.kind == RelocKind.TYPE_ID_LOCAL:
        return f"{res.new_val} (local id)"
    return str(res.new_val) if res.new_val == res.orig_val else f"{res.orig_val} -> {res.new_val}"


def _target_cell(res: RelocResult) -> str:
    """The chosen target; its accessor only when it reads differently from the local one."""
    if not res.target:
        return "-"
    head, _, text = res.target.partition("] ")
    return f"{head}]" if text == res.local else res.target


def format_explanations(results: Sequence[RelocResult], verbose: bool = False) -> str:
    """A table: program, insn, kind, local accessor, candidates, chosen target, value."""
    rows = [("PROGRAM", "INSN", "KIND", "LOCAL", "CANDIDATES", "TARGET", "VALUE")]
    for r in results:
        cands = ", ".join(f"{c.source}[{c.type_id}]{'' if c.matched else '✗'}"
                          for c in r.candidates) or "-"
        rows.append((r.program, str(r.insn), r.kind.short, r.local, cands,
                     _target_cell(r), _outcome(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    if verbose:
        for r in results:
            for c in r.candidates:
                lines.append(f"  {r.program}#{r.insn} candidate {c.source} [{c.type_id}] "
                             f"{c.type}: {'match ' if c.matched else 'no match: '}{c.detail}")
    return "\n".join(line.rstrip() for line in lines)


def _source_line(line_info: Optional[Sequence[LineInfo]], insn: int) -> str:
    best = None
    for li in line_info or ():
        if li.insn_off // 8 <= insn and (best is None or li.insn_off >= best.insn_off):
            best = li
    if best is None:
        return ""
    text = (best.line_text or "").strip()
    return f"{best.file_name}:{best.line}" + (f": {text}" if text else "")


def error_from_verifier(program: str, log: str, results: Sequence[RelocResult],
                        line_info: Optional[Sequence[LineInfo]] = None
                        ) -> Optional[CoreRelocationError]:
    """A CoreRelocationError for a verifier log that ran into a poisoned instruction.

    ``results`` must use instruction indexes of the loaded program (see
    objects.shifted) and ``line_info`` byte offsets into it, as the linker's
    LinkedProgram.line_info has them.
    Returns None when the log is not about a poisoned instruction.
    """
    if _INVALID_FUNC not in log:
        return None
    hits = re.findall(_POISON_CALL, log, re.M)
    poisoned = [r for r in results if r.poison]
    insn = int(hits[-1]) if hits else None
    culprit = None
    for r in poisoned:
        if insn is not None and r.insn in (insn, insn - 1):  # ld_imm64: either half
            culprit = r
    if culprit is None and len(poisoned) == 1:
        culprit = poisoned[0]
    if culprit is None:
        where = f"insn #{insn}" if insn is not None else "an instruction"
        return CoreRelocationError(f"program {program!r}: {where} poisoned by a failed CO-RE "
                                   "relocation is reachable\n" + log.rstrip())
    src = _source_line(line_info, culprit.insn)
    msg = (f"program {program!r}: insn #{culprit.insn}: CO-RE relocation {culprit.what} "
           f"could not be applied and the instruction is reachable: {culprit.reason}")
    if src:
        msg += f" (at {src})"
    return CoreRelocationError(msg + "\n" + log.rstrip())
