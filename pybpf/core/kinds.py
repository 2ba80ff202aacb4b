"""CO-RE relocation kinds (the uapi ``enum bpf_core_relo_kind``) and type names.

Owns the numbering, libbpf's short names for each kind, the three families a
kind belongs to (field, type, enum value), and the "essential name" rule used
to match local type names against target ones.
"""
from __future__ import annotations

from enum import IntEnum

#: The helper id that poisons an instruction ("bad relo"): the verifier says
#: ``invalid func unknown#195896080`` when a poisoned instruction is reachable.
POISON_IMM = 0xBAD2310


class RelocKind(IntEnum):
    """``enum bpf_core_relo_kind`` from include/uapi/linux/bpf.h."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12

    @property
    def is_field(self) -> bool:
        return self <= RelocKind.FIELD_RSHIFT_U64

    @property
    def is_type(self) -> bool:
        return self in _TYPE_KINDS

    @property
    def is_enumval(self) -> bool:
        return self in (RelocKind.ENUMVAL_EXISTS, RelocKind.ENUMVAL_VALUE)

    @property
    def short(self) -> str:
        """libbpf's name for the kind, as in its debug log (``byte_off``)."""
        return _SHORT[self]


_TYPE_KINDS = frozenset((RelocKind.TYPE_ID_LOCAL, RelocKind.TYPE_ID_TARGET, RelocKind.TYPE_EXISTS,
                         RelocKind.TYPE_SIZE, RelocKind.TYPE_MATCHES))

_SHORT = {
    RelocKind.FIELD_BYTE_OFFSET: "byte_off",
    RelocKind.FIELD_BYTE_SIZE: "byte_sz",
    RelocKind.FIELD_EXISTS: "field_exists",
    RelocKind.FIELD_SIGNED: "signed",
    RelocKind.FIELD_LSHIFT_U64: "lshift_u64",
    RelocKind.FIELD_RSHIFT_U64: "rshift_u64",
    RelocKind.TYPE_ID_LOCAL: "local_type_id",
    RelocKind.TYPE_ID_TARGET: "target_type_id",
    RelocKind.TYPE_EXISTS: "type_exists",
    RelocKind.TYPE_SIZE: "type_size",
    RelocKind.ENUMVAL_EXISTS: "enumval_exists",
    RelocKind.ENUMVAL_VALUE: "enumval_value",
    RelocKind.TYPE_MATCHES: "type_matches",
}


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
