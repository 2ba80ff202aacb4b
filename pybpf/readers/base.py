"""What every event reader shares: an epoll set, the batch/iterator/callback/
asyncio consumption styles, and fd/mmap ownership.

A concrete reader implements ``_collect(out, copy)`` (append every record
available now, without publishing the new consumer position) and
``_commit()`` (publish it, letting the kernel reuse the space).

Record lifetime: ``read_batch`` returns ``bytes`` that the caller owns.
The iterator, ``async for`` and ``poll`` callbacks hand out ``memoryview``
slices of the ring itself (no copy); such a record is valid until the next
record is requested (iterators) or until the callback returns (``poll``).
Copy it (``bytes(rec)``) to keep it longer.

Batching: the kernel wakes a reader for the first record after it has
caught up, so a reader that keeps up with a steady stream wakes for a few
records at a time and pays the per-wakeup cost (epoll, a write per batch)
again and again. ``gather`` (read_batch, poll) lets records accumulate
until that many seconds have passed since the last batch was handed out,
or until a ring is half full: fewer, larger batches at the cost of at most
``gather`` seconds of delay. The first record after a quiet spell is not
delayed (the last batch is long past).
"""
from __future__ import annotations

import mmap
import os
import select
import struct
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, AsyncIterator, Callable, Generator, Iterator, List, Optional, TypeVar, Union

    from pybpf.sys.fd import FD
    Record = Union[bytes, memoryview]
    Decoder = Union[Callable[[Any, int], Any], struct.Struct]
    #: What a read hands over: records (memoryviews or bytes), or whatever ``decode`` made of
    #: them (its choice, hence Any).
    Records = List[Any]
    R = TypeVar("R", bound="Reader")

GATHER_FILL = 0.5  # a ring this full ends a gather at once



class Waker:
    """Ends a wait on an epoll set at once, from a signal handler (a handler that
    returns lets Python resume an interrupted wait until its timeout) or another
    thread: ``wake()`` writes a byte into a pipe the set watches; the waiter calls
    ``drain()`` when ``woken``. ``close()`` and ``wake()`` share a lock, so a wake
    never writes into a closed pipe's fd number, which may be someone else's by then.
    A reader has one; so has a source that waits on its own epoll set (a gadget
    reading sockets)."""

    def __init__(self, epoll: select.epoll) -> None:
        self.fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        epoll.register(self.fd, select.EPOLLIN)
        self.woken = False
        self._closed = False
        self._lock = threading.Lock()

    def wake(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # being closed, or another wake is writing the byte
        try:
            if self._closed:
                return
            try:
                os.write(self._write_fd, b"w")
            except OSError:  # full: a wake is already pending
                pass
            # after the byte: a waiter that drains between the two clears the flag
            # and finds the byte on its next wait, never a byte with the flag clear
            self.woken = True
        finally:
            self._lock.release()

    def drain(self) -> None:
        self.woken = False
        try:
            while os.read(self.fd, 64):
                pass
        except OSError:  # empty (BlockingIOError)
            pass

    def close(self) -> None:
        """Close the pipe (the epoll set it was registered with is the owner's). Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self.fd)
                os.close(self._write_fd)


class Reader:
    """Base of RingBufReader and PerfReader."""

    lost: int = 0

    def __init__(self) -> None:
        self._epoll: Optional[select.epoll] = select.epoll()
        self._mmaps: List[mmap.mmap] = []
        self._views: List[memoryview] = []
        self._owned_fds: List[FD] = []
        # records collected but not handed out when an iterator was left early;
        # they are still in the ring (the consumer position was not published)
        self._pending: Records = []
        self._handed = 0.0  # time.monotonic() of the last non-empty batch
        self._waker = Waker(self._epoll)

    # -- to implement -------------------------------------------------------
    def _collect(self, out: Records, copy: bool, decode: Optional[Decoder] = None) -> None:
        """Append every available record: ``decode(ring, offset)`` if given, else
        bytes (``copy``) or a memoryview into the ring."""
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _fullest(self) -> float:
        """How full the fullest ring is, 0.0 (nothing waiting) to 1.0."""
        raise NotImplementedError

    # -- consumption --------------------------------------------------------
    def fileno(self) -> int:
        """The epoll fd: readable when records are waiting (for select/asyncio)."""
        return self._check_open().fileno()

    def _check_open(self) -> select.epoll:
        if self._epoll is None:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._epoll

    def _fill(self, out: Records, copy: bool, decode: Optional[Decoder] = None) -> None:
        if self._pending:
            if decode is not None:
                unpack = decode.unpack_from if isinstance(decode, struct.Struct) else decode
                out.extend(unpack(rec, 0) for rec in self._pending)
            elif copy:
                out.extend(bytes(rec) for rec in self._pending)
            else:
                out.extend(self._pending)
            self._pending = []
        self._collect(out, copy, decode)

    def wake(self) -> None:
        """End a wait for records now, or the next one if none is in progress: that
        read returns what is there, maybe nothing. Safe from a signal handler (a
        handler that returns lets Python resume an interrupted wait until its
        timeout) and from another thread."""
        self._waker.wake()

    def _wait(self, timeout: Optional[float]) -> None:
        epoll = self._check_open()
        try:
            epoll.poll(-1 if timeout is None else timeout)
        except InterruptedError:
            pass
        if self._waker.woken:
            self._waker.drain()

    def _gather(self, timeout: Optional[float], gather: float) -> None:
        """Wait up to ``timeout`` for a record, then until ``gather`` seconds
        after the last batch or a half-full ring. Each wakeup costs a process
        that slept (cold caches) far more than a check, so it sleeps what is
        left in one go unless the ring, filling twice as fast as it has since
        the last batch, would be half full sooner."""
        if self._pending:
            return
        self._wait(timeout)
        until = self._handed + gather
        while True:
            fill = self._fullest()
            now = time.monotonic()
            left = until - now
            if not fill or fill >= GATHER_FILL or left <= 0:
                return
            rate = 2 * fill / max(now - self._handed, 1e-3)  # of the ring per second
            time.sleep(min(left, max((GATHER_FILL - fill) / rate, 1e-3)))

    def read_batch(self, timeout: Optional[float] = None,
                   decode: Optional[Decoder] = None, *, gather: float = 0.0) -> Records:
        """Every record available, waiting up to ``timeout`` seconds (None: forever)
        for the first one; an empty list on timeout. Records are ``bytes``, or
        ``decode(buffer, offset)`` of each when given (e.g. a
        ``ctypes.Structure.from_buffer_copy``), decoded straight from the ring
        without an intermediate copy (a record that wraps around a ring's end is
        handed over joined in a copy, at offset 0: ``decode`` should read the
        record's bytes only). A ``struct.Struct`` as ``decode`` gives
        its ``unpack_from`` tuples, and runs of equal-size records are decoded
        in bulk with ``iter_unpack`` (the fastest way to read fixed-size events).
        ``gather``: see the module's docstring."""
        out: Records = []
        self._check_open()
        if gather > 0:
            self._gather(timeout, gather)
        self._fill(out, True, decode)
        if not out and timeout != 0 and not gather:
            self._wait(timeout)
            self._collect(out, True, decode)
        self._commit()
        if out:
            self._handed = time.monotonic()
        return out

    def poll(self, callback: Callable[[memoryview], object],
             timeout: Optional[float] = None, *, gather: float = 0.0) -> int:
        """Call ``callback(record)`` for each record available, waiting up to
        ``timeout`` seconds for the first. Returns how many records were handled.
        If ``callback`` raises, the records after that one are kept for the next call.
        ``gather``: see the module's docstring."""
        out: Records = []
        self._check_open()
        if gather > 0:
            self._gather(timeout, gather)
        self._fill(out, False)
        if not out and timeout != 0 and not gather:
            self._wait(timeout)
            self._collect(out, False)
        if out:
            self._handed = time.monotonic()
        handled = 0
        try:
            for rec in out:
                handled += 1
                callback(rec)
        except BaseException:
            # the record that raised counts as consumed; the rest stay in the ring
            self._pending = out[handled:]
            raise
        self._commit()
        return handled

    def __iter__(self) -> Iterator[memoryview]:
        out: Records = []
        while True:
            self._fill(out, False)
            if not out:
                self._wait(None)
                continue
            yield from self._hand_out(out)

    def _hand_out(self, out: Records) -> Generator[Any, None, None]:
        index = 0
        try:
            for index, rec in enumerate(out, 1):  # noqa: B007 (index is read on GeneratorExit)
                yield rec
        except GeneratorExit:
            self._pending = out[index:]
            raise
        finally:
            out.clear()
        self._commit()

    def __aiter__(self) -> AsyncIterator[memoryview]:
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[memoryview]:
        import asyncio  # here: importing it pulls in ssl (libssl, libcrypto), for async use only

        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        fd = self.fileno()
        loop.add_reader(fd, ready.set)
        out: Records = []
        try:
            while True:
                self._fill(out, False)
                if not out:
                    if self._waker.woken:  # the epoll fd stays readable until drained
                        self._waker.drain()
                    # asyncio watches the epoll fd level-triggered: data that
                    # arrived since the collect above sets the event again
                    ready.clear()
                    await ready.wait()
                    continue
                # an async generator cannot ``yield from``: close the sync one
                # explicitly so a consumer leaving early keeps the rest pending
                records = self._hand_out(out)
                try:
                    for rec in records:
                        yield rec
                finally:
                    records.close()
        finally:
            if self._epoll is not None:
                loop.remove_reader(fd)

    # -- ownership ----------------------------------------------------------
    def close(self) -> None:
        """Release every mmap, perf fd and the epoll fd. Idempotent.

        A mapping whose records the caller still holds as memoryviews is
        unmapped when the last of them is released.
        """
        if self._epoll is None:
            return
        for view in self._views:
            try:
                view.release()
            except BufferError:
                pass
        self._views.clear()
        self._pending = []
        for mm in self._mmaps:
            try:
                mm.close()
            except BufferError:
                pass
        self._mmaps.clear()
        for fd in self._owned_fds:
            fd.close()
        self._owned_fds.clear()
        self._epoll.close()
        self._epoll = None
        self._waker.close()

    @property
    def closed(self) -> bool:
        return self._epoll is None

    def __enter__(self: R) -> R:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
