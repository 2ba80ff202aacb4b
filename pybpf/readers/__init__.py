"""Event readers: user-space consumers of the BPF ring buffer
(``RingBufReader``) and of the perf event array (``PerfReader``).

Both are iterators over records, with ``read_batch``, ``poll(callback)``,
``async for``, a ``lost`` counter, ``close()`` and ``with`` support.
"""
from __future__ import annotations

from pybpf.readers.base import Reader
from pybpf.readers.perf import PerfReader
from pybpf.readers.ringbuf import RingBufReader

__all__ = ["Reader", "PerfReader", "RingBufReader"]
