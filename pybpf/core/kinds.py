"""CO-RE relocation kinds (the uapi ``enum bpf_core_relo_kind``) and type names.

The kinds themselves (numbering, families, libbpf's short names) are
``pybpf.btf.ext.CoreReloKind``; this module owns the poison marker and the
"essential name" rule used to match local type names against target ones.
"""
from __future__ import annotations

# The uapi enum, defined once with the .BTF.ext records that carry it.
from pybpf.btf.ext import CoreReloKind as RelocKind

__all__ = ["POISON_IMM", "RelocKind", "essential_name"]

#: The helper id that poisons an instruction ("bad relo"): the verifier says
#: ``invalid func unknown#195896080`` when a poisoned instruction is reachable.
POISON_IMM = 0xBAD2310


def essential_name(name: str) -> str:
    """``name`` without its last ``___flavor`` suffix.

    A flavor separator is three underscores with a non-underscore on each side,
    so ``task_struct___old`` -> ``task_struct`` and ``a___b___c`` -> ``a___b``,
    while ``__x___`` has no flavor.
    """
    for i in range(len(name) - 5, -1, -1):
        if (name[i] != "_" and name[i + 1:i + 4] == "___" and name[i + 4] != "_"):
            return name[:i + 1]
    return name
