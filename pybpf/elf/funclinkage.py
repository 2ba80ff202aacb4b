"""Give hidden global subprograms static linkage in the object's BTF, as libbpf does.

A global function is verified on its own, from its BTF prototype alone; a
static one in the context of each caller. libbpf marks a global function of
`.text` whose ELF symbol has hidden (or internal) visibility static in the
BTF it loads (the first global FUNC of that name), since nothing outside the
object can call it: libbpf's own ``usdt.bpf.h`` helpers rely on that. Pure:
rewrites the object's own BTF Spec in place.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from pybpf.btf import types as bt
from pybpf.btf.spec import Spec

if TYPE_CHECKING:  # pyelftools is imported where an object is parsed (pybpf.elf.reader)
    from elftools.elf.sections import Symbol

HIDDEN_VISIBILITIES = ("STV_HIDDEN", "STV_INTERNAL")


def is_hidden_global(sym: Symbol) -> bool:
    """Whether an ELF function symbol is global (or weak) with hidden/internal visibility."""
    return (sym["st_info"]["bind"] != "STB_LOCAL"
            and sym["st_other"]["visibility"] in HIDDEN_VISIBILITIES)


def mark_static(btf: Spec, names: Iterable[str]) -> None:
    """Turn the first global FUNC named after each of ``names`` into a static one."""
    wanted = set(names)
    if not wanted:
        return
    for tid in range(btf.first_id, btf.type_count):
        if btf.kind_of(tid) != bt.Kind.FUNC:
            continue
        t = btf.get_as(tid, bt.Func)
        if t.linkage == bt.FUNC_GLOBAL and t.name in wanted:
            btf.set_type(tid, bt.Func(t.name, t.type, bt.FUNC_STATIC))
            wanted.discard(t.name)
