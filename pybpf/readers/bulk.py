"""Bulk decoding of equal-size records with ``struct.iter_unpack``.

When ``read_batch(decode=)`` is given a ``struct.Struct``, a run of
consecutive records of one size is decoded by one ``iter_unpack`` over the
ring (C speed) with a format that also steps over each record's header and
padding, instead of one Python-level call per record.
"""
from __future__ import annotations

import struct
from functools import lru_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional

_ORDER = "@=<>!"


@lru_cache(maxsize=64)
def record_struct(fields: struct.Struct, skip: int, stride: int) -> Optional[struct.Struct]:
    """A Struct decoding one ``stride``-byte record: ``skip`` header bytes,
    ``fields``, then padding to ``stride``; None if ``fields`` does not fit."""
    fmt = fields.format
    order, body = (fmt[0], fmt[1:]) if fmt[:1] in tuple(_ORDER) else ("@", fmt)
    pad = stride - skip - fields.size
    if pad < 0:
        return None
    whole = struct.Struct(f"{order}{skip}x{body}{pad}x")
    return whole if whole.size == stride else None


def first_mismatch(words: List[int], expected: int) -> int:
    """Index of the first element of ``words`` that is not ``expected`` (len if none)."""
    if words.count(expected) == len(words):
        return len(words)
    for index, word in enumerate(words):
        if word != expected:
            return index
    return len(words)
