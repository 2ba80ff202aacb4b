"""Event readers: user-space consumers of the BPF ring buffer
(``RingBufReader``) and of the perf event array (``PerfReader``).

Both are iterators over records, with ``read_batch``, ``poll(callback)``,
``async for``, a ``lost`` counter, ``close()`` and ``with`` support. Each
reader's module is imported when its name is first used (PEP 562): a ring
buffer's consumer does not import the perf reader. ``Waker`` ends a reader's
wait (``Reader.wake``), or that of a source waiting on its own epoll set.
"""
from __future__ import annotations

from pybpf.namespace import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.readers.base import Reader, Waker
    from pybpf.readers.perf import PerfReader
    from pybpf.readers.ringbuf import RingBufReader

#: public name -> the module of this package that defines it
_OWNERS = {"PerfReader": "perf", "Reader": "base", "RingBufReader": "ringbuf", "Waker": "base"}

__all__ = [
    "PerfReader", "Reader", "RingBufReader", "Waker"
]

__getattr__, __dir__ = lazy(__name__, _OWNERS)
