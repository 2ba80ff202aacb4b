"""Resolve and apply the CO-RE relocations of an object's programs.

Owns the per-relocation algorithm of libbpf's bpf_core_calc_relo_insn: parse
the local accessor, gather candidates by essential name (cached, and pruned
per object as libbpf prunes them), match each, require every matching
candidate to agree, poison when none matches; then patch the instructions.
Whole objects, the on-disk cache and the running kernel's BTF are
pybpf.core.objects' and pybpf.core.kernel's business.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Protocol, Sequence, Union

from pybpf.btf.spec import Spec
from pybpf.core.kinds import RelocKind, essential_name
from pybpf.core.patch import apply
from pybpf.core.result import CandidateInfo, RelocResult
from pybpf.core.typeinfo import kind_word, spell
from pybpf.errors import BTFError, CoreRelocationError

if TYPE_CHECKING:
    from pybpf.asm.instruction import Instruction
    from pybpf.core.access import AccessSpec
    from pybpf.core.calc import Computed
    from pybpf.core.candidates import Candidate


class Relo(Protocol):
    """A CO-RE record: .BTF.ext's CoreRelo or core.objects' FunctionRelo (insn_off a slot)."""

    insn_off: int
    type_id: int
    access_str: str
    kind: int


class Session:
    """Relocation state for one object against one target: pruned candidate lists.

    libbpf shares a candidate list per local type across all relocations of an
    object and drops candidates that failed to match a relocation that others
    did match; one Session per object reproduces that.
    """

    def __init__(self, local: Spec, targets: Sequence[Spec]) -> None:
        self.local = local
        self.targets = list(targets)
        self._cands: Dict[int, List[Candidate]] = {}

    def prefetch(self, relos: Sequence[Relo]) -> None:
        """Batch the target name lookups of ``relos`` (an optimisation only)."""
        # deferred: loads with a warm CO-RE cache never relocate (import cost)
        from pybpf.core.candidates import prefetch
        ids = {int(r.type_id) for r in relos if int(r.kind) != RelocKind.TYPE_ID_LOCAL}
        prefetch(self.local, sorted(ids - set(self._cands)), self.targets)

    def candidates(self, local_id: int) -> List[Candidate]:
        cands = self._cands.get(local_id)
        if cands is None:
            # deferred: loads with a warm CO-RE cache never relocate (import cost)
            from pybpf.core.candidates import find_candidates
            cands = self._cands[local_id] = find_candidates(self.local, local_id, self.targets)
        return cands

    def resolve(self, relo: Relo, program: str, index: int) -> RelocResult:
        """Compute (not apply) relocation ``relo`` (``insn_off`` is a slot index)."""
        # deferred: loads with a warm CO-RE cache never relocate (import cost)
        from pybpf.core.access import SpecError, parse_local
        insn = int(relo.insn_off)
        local_id = int(relo.type_id)
        access = str(relo.access_str)
        where = f"program {program!r}: insn #{insn}: CO-RE relocation #{index}"
        try:
            kind = RelocKind(int(relo.kind))
        except ValueError:
            raise CoreRelocationError(f"{where}: unknown relocation kind {relo.kind}") from None
        try:
            local_spec = parse_local(self.local, local_id, access, kind)
            local_text = local_spec.describe()
        except (SpecError, BTFError, CoreRelocationError) as exc:
            raise CoreRelocationError(f"{where} <{kind.short}> local type [{local_id}] "
                                      f"access {access!r}: {exc}") from None
        res = RelocResult(program, index, insn, kind, local_id, access, local_text,
                          "" if kind.is_type else local_spec.location())
        try:
            self._resolve(res, local_spec)
        except (BTFError, CoreRelocationError) as exc:
            raise CoreRelocationError(f"{where} {res.what}: {exc}") from None
        return res

    def _resolve(self, res: RelocResult, local_spec: AccessSpec) -> None:
        # deferred: loads with a warm CO-RE cache never relocate (import cost)
        from pybpf.core.calc import compute
        from pybpf.core.match import match_spec
        kind = res.kind
        if kind == RelocKind.TYPE_ID_LOCAL:
            res.orig_val = res.new_val = res.local_type_id
            res.validate = False  # ids can move while the object is linked
            return
        local_name = self.local.name_of(res.local_type_id)
        if not local_name:
            raise CoreRelocationError("relocations against anonymous types are not supported")
        cands = self.candidates(res.local_type_id)
        kept: List[Candidate] = []
        chosen: Optional[AccessSpec] = None
        for cand in cands:
            why: List[str] = []
            targ_spec = match_spec(local_spec, cand.btf, cand.type_id, why)
            info = CandidateInfo(cand.source, cand.type_id, spell(cand.btf, cand.type_id),
                                 targ_spec is not None)
            res.candidates.append(info)
            if targ_spec is None:
                info.detail = "; ".join(why)
                continue
            if not kind.is_type:
                info.detail = targ_spec.location()
            values = compute(kind, local_spec, targ_spec)
            if chosen is None:
                chosen = targ_spec
                self._take(res, values)
                res.target = f"{cand.source} [{cand.type_id}] {targ_spec.describe()}"
            elif targ_spec.bit_offset != chosen.bit_offset:
                raise CoreRelocationError(
                    f"field offset ambiguity between candidates: {res.target} at bit "
                    f"{chosen.bit_offset}, {cand.source} [{cand.type_id}] at bit "
                    f"{targ_spec.bit_offset}")
            elif values.poison != res.poison or values.new_val != res.new_val:
                raise CoreRelocationError(
                    f"candidates disagree: {res.target} gives "
                    f"{'poison' if res.poison else res.new_val}, {cand.source} "
                    f"[{cand.type_id}] {targ_spec.describe()} gives "
                    f"{'poison' if values.poison else values.new_val}")
            kept.append(cand)
        if kept:
            cands[:] = kept
            return
        self._take(res, compute(kind, local_spec, None))
        if res.poison:
            res.reason = self._no_match_reason(res, local_name)

    @staticmethod
    def _take(res: RelocResult, values: Computed) -> None:
        res.orig_val, res.new_val = values.orig_val, values.new_val
        res.poison, res.validate = values.poison, values.validate
        res.orig_sz, res.new_sz = values.orig_sz, values.new_sz
        res.fail_memsz_adjust = values.fail_memsz_adjust

    def _no_match_reason(self, res: RelocResult, local_name: str) -> str:
        word = kind_word(self.local[res.local_type_id])
        if not res.candidates:
            return (f"target BTF has no {word} named {essential_name(local_name)!r} "
                    "(flavors included)")
        tried = "; ".join(f"{c.source} [{c.type_id}] {c.type}: {c.detail}"
                          for c in res.candidates)
        return f"no candidate matches {res.local}: {tried}"


def relocate(insns: List[Instruction], relos: Sequence[Relo], local: Spec,
             target: Union[Spec, Sequence[Spec]],
             program: str = "", session: Optional[Session] = None) -> List[RelocResult]:
    """Apply ``relos`` to ``insns`` in place against ``target``: a BTF Spec or a list of them.

    The running kernel's BTF, or a BTF file by path, is the caller's to open
    (``pybpf.core.as_targets``): this module never reads the kernel.

    ``relos`` are CoreRelo records whose ``insn_off`` is already a slot index
    into ``insns``. Unsatisfiable relocations are poisoned (see
    RelocResult.reason); everything else that fails raises CoreRelocationError
    naming the program, instruction and relocation. Pass one ``session`` for
    all programs of an object to share candidate pruning as libbpf does.
    """
    if session is None:
        session = Session(local, [target] if isinstance(target, Spec) else list(target))
    session.prefetch(relos)
    results = [session.resolve(relo, program, i) for i, relo in enumerate(relos)]
    for res in results:
        apply(insns, res)
    return results
