"""Builder: assemble a BTF blob from type objects (for tests and for synthesised BTF).

    b = Builder()
    i32 = b.add(Int("int", 4, signed=True))
    s = b.add(Struct("pair", 8, [Member("a", i32, 0), Member("b", i32, 32)]))
    spec = b.to_spec()          # or b.to_bytes()

Ids are handed out in order from 1 (or from the base's type_count when a
base Spec is given, for split BTF). A type may reference an id added later;
for cycles add the struct first and append members once the pointer exists.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from ..errors import BTFError
from .spec import Spec
from .types import BTF_MAGIC, BTF_VERSION, Type, Void
from .wire import HEADER, HEADER_LEN, encode_to_bytes


class Builder:
    """Collects types and encodes them, with a fresh deduplicated string table."""

    def __init__(self, base: Optional[Spec] = None) -> None:
        self.base = base
        self.types: List[Type] = []

    @property
    def first_id(self) -> int:
        return self.base.type_count if self.base is not None else 1

    @property
    def next_id(self) -> int:
        """The id the next ``add`` returns."""
        return self.first_id + len(self.types)

    def add(self, t: Type) -> int:
        """Append ``t``; returns its type id."""
        if not isinstance(t, Type) or isinstance(t, Void):
            raise TypeError(f"cannot add {t!r} as a BTF type")
        self.types.append(t)
        return self.next_id - 1

    def __getitem__(self, type_id: int) -> Type:
        return self.types[type_id - self.first_id]

    def replace(self, type_id: int, t: Type) -> None:
        """Swap the type at ``type_id`` for ``t``."""
        self.types[type_id - self.first_id] = t

    def to_bytes(self) -> bytes:
        """The BTF blob (little-endian); raises BTFError if a field does not fit."""
        base_len = self.base._str_total if self.base is not None else 0
        strs = bytearray(b"" if self.base is not None else b"\0")
        offs: Dict[str, int] = {"": 0}

        def stroff(s: str) -> int:
            off = offs.get(s)
            if off is None:
                off = offs[s] = base_len + len(strs)
                strs.extend(s.encode("utf-8", "surrogateescape") + b"\0")
            return off

        chunks = []
        for n, t in enumerate(self.types):
            chunks.append(encode_to_bytes(t, stroff, f"type id {self.first_id + n}"))
        types = b"".join(chunks)
        if len(types) > 0xFFFFFFFF:
            raise BTFError("type section too large")
        return HEADER.pack(BTF_MAGIC, BTF_VERSION, 0, HEADER_LEN, 0, len(types), len(types),
                           len(strs)) + types + bytes(strs)

    def to_spec(self, name: str = "") -> Spec:
        """Encode and parse back: a Spec over the built blob."""
        return Spec.from_bytes(self.to_bytes(), base=self.base, name=name or "built BTF")
