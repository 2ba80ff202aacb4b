"""PerfReader: the consumer side of a BPF_MAP_TYPE_PERF_EVENT_ARRAY map.

One PERF_COUNT_SW_BPF_OUTPUT event per online CPU (sample_type RAW), each
with its own ring (1 control page + ``pages`` data pages), stored into the
map at that CPU's index so ``bpf_perf_event_output(BPF_F_CURRENT_CPU)``
writes there. Records are PERF_RECORD_SAMPLE (``u32 size`` + raw bytes)
and PERF_RECORD_LOST (``u64 id, u64 lost``); a record crossing the end of
the ring is reassembled. ``data_tail`` is published after consumption.
"""
from __future__ import annotations

import mmap
import select
import struct

from pybpf import sys as bpfsys
from pybpf.errors import BPFError, syscall_error
from pybpf.readers.base import Reader
from pybpf.readers.bulk import first_mismatch, record_struct
from pybpf.readers.source import MapSource, map_source
from pybpf.records import Record
from pybpf.sys import perf as sysperf
from pybpf.sys.fd import FD

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, List, Optional, Union

    from pybpf.readers.base import Decoder, Records
    from pybpf.readers.source import MapLike

BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4

_KEY = struct.Struct("<I").pack
_HEAD = sysperf.MMAP_DATA_HEAD // 8   # u64 word indexes in the control page
_TAIL = sysperf.MMAP_DATA_TAIL // 8
SAMPLE = sysperf.PERF_RECORD_SAMPLE
LOST = sysperf.PERF_RECORD_LOST


class _Ring(Record):
    __slots__ = ("cpu", "fd", "mm", "view", "u32", "u64", "size", "tail", "committed")

    cpu: int
    fd: FD
    mm: mmap.mmap
    view: memoryview
    u32: memoryview  # the whole mapping as u32 words (record headers)
    u64: memoryview  # the whole mapping as u64 words (data_head/tail, lost counts)
    size: int        # data area bytes (power of two)
    tail: int        # consumed up to here (not necessarily published)
    committed: int   # last data_tail written

    def __init__(
            self,
            cpu: int,
            fd: FD,
            mm: mmap.mmap,
            view: memoryview,
            u32: memoryview,
            u64: memoryview,
            size: int,
            tail: int,
            committed: int,
    ) -> None:
        self.cpu = cpu
        self.fd = fd
        self.mm = mm
        self.view = view
        self.u32 = u32
        self.u64 = u64
        self.size = size
        self.tail = tail
        self.committed = committed


class PerfReader(Reader):
    """Read samples from a perf event array map (a ``Map`` or a map fd).

    ``pages``: data pages per CPU (power of two). ``watermark``: wake the
    reader after this many samples (the kernel's ``wakeup_events``);
    ``wakeup_bytes`` instead wakes it when that many bytes are waiting.
    ``cpus``: which CPUs to read (default: every online CPU the map can hold).
    ``lost`` counts samples the kernel dropped because a ring was full.
    """

    def __init__(self, map_or_fd: Union[MapLike, int], pages: int = 8, watermark: int = 1,
                 *, wakeup_bytes: Optional[int] = None,
                 cpus: Optional[Iterable[int]] = None) -> None:
        super().__init__()
        # deferred to here: the record layout imports construct (about 30 ms), which only
        # perf readers need; imported before reading, since any record may cross the end
        from pybpf.readers.perfrecord import PERF_RECORD
        self._parse_record = PERF_RECORD.parse
        self.lost = 0
        self._rings: List[_Ring] = []
        self._map_fd = -1
        try:
            src = map_source(map_or_fd)
            if src.type != BPF_MAP_TYPE_PERF_EVENT_ARRAY:
                raise BPFError(f"map {src.name!r}: PerfReader needs a perf event array "
                               f"(type {BPF_MAP_TYPE_PERF_EVENT_ARRAY}), got type {src.type}")
            self.name = src.name
            self._map_fd = src.fd
            if pages <= 0 or pages & (pages - 1):
                raise ValueError(f"map {src.name!r}: pages must be a power of two, got {pages}")
            chosen = sysperf.online_cpus() if cpus is None else list(cpus)
            chosen = [cpu for cpu in chosen if cpu < src.max_entries]
            if not chosen:
                raise BPFError(f"map {src.name!r}: no CPU fits in its {src.max_entries} entries")
            for cpu in chosen:
                self._open_cpu(src, cpu, pages, watermark, wakeup_bytes)
        except BaseException:
            self.close()
            raise

    def _open_cpu(self, src: MapSource, cpu: int, pages: int, watermark: int,
                  wakeup_bytes: Optional[int]) -> None:
        flags = 0
        wakeup = max(1, watermark)
        if wakeup_bytes is not None:
            flags |= sysperf.ATTR_WATERMARK
            wakeup = wakeup_bytes
        spec = sysperf.PerfEventSpec(type=sysperf.PERF_TYPE_SOFTWARE,
                                     config=sysperf.PERF_COUNT_SW_BPF_OUTPUT,
                                     sample_period=1, sample_type=sysperf.PERF_SAMPLE_RAW,
                                     flags=flags, wakeup=wakeup)
        fd = sysperf.perf_event_open(spec, pid=-1, cpu=cpu,
                                     what=f"BPF output for map {src.name!r} on cpu {cpu}")
        self._owned_fds.append(fd)
        try:
            mm = sysperf.perf_mmap(fd.fileno(), pages)
        except OSError as exc:
            raise syscall_error("mmap", exc.errno or 0,
                                f"perf ring of map {src.name!r} on cpu {cpu}") from None
        self._mmaps.append(mm)
        view = memoryview(mm)
        u32, u64 = view.cast("I"), view.cast("Q")
        self._views.extend((view, u32, u64))
        tail = u64[_TAIL]
        ring = _Ring(cpu, fd, mm, view, u32, u64, pages * mmap.PAGESIZE, tail, tail)
        bpfsys.map_update_elem(src.fd, _KEY(cpu), _KEY(fd.fileno()), 0)
        self._rings.append(ring)  # from here on close() takes it out of the map again
        sysperf.perf_event_ioc_enable(fd.fileno())
        self._check_open().register(fd.fileno(), select.EPOLLIN)

    @property
    def cpus(self) -> List[int]:
        """The CPUs this reader has a ring on."""
        return [ring.cpu for ring in self._rings]

    def _collect(self, out: Records, copy: bool, decode: Optional[Decoder] = None) -> None:
        base = mmap.PAGESIZE
        append = out.append
        fields: Optional[struct.Struct] = None
        unpack: Optional[Callable[[Any, int], Any]]
        if isinstance(decode, struct.Struct):
            fields, unpack = decode, decode.unpack_from
        else:
            unpack = decode
        for ring in self._rings:
            u64 = ring.u64
            head = u64[_HEAD]
            tail = ring.tail
            if tail >= head:
                continue
            mm = ring.mm
            u32 = ring.u32
            src = mm if copy else ring.view
            size = ring.size
            mask = size - 1
            # Records are read from indexed u32/u64 words, not through the construct
            # layout of pybpf.readers.perfrecord: that takes about 40 us per sample
            # against 0.4 us here (figures in that module), ten times the whole loop.
            while tail < head:
                off = tail & mask
                word = (base + off) >> 2
                rsize = u32[word + 1] >> 16
                if rsize < 8:
                    raise BPFError(f"map {self.name!r}: corrupt perf record of size {rsize} "
                                   f"on cpu {ring.cpu}")
                if off + rsize <= size:
                    rtype = u32[word]
                    if fields is not None and rtype == SAMPLE:
                        count = self._bulk(ring, fields, off, rsize, head - tail, out)
                        if count:
                            tail += count * rsize
                            continue
                    if rtype == SAMPLE:
                        start = base + off + 12
                        if unpack is None:
                            append(src[start:start + u32[word + 2]])
                        else:
                            append(unpack(mm, start))
                    elif rtype == LOST:
                        self.lost += u64[(base + off + 16) >> 3]
                else:
                    self._wrapped(mm, base, off, rsize, size, out, unpack)
                tail += rsize
            ring.tail = tail
            if copy:
                u64[_TAIL] = tail
                ring.committed = tail

    @staticmethod
    def _bulk(ring: _Ring, fields: struct.Struct, off: int, rsize: int, avail: int,
              out: Records) -> int:
        """Decode the run of equal samples starting at ``off`` (up to the ring's
        end) with one iter_unpack; returns how many, 0 if there is no run."""
        count = min(avail, ring.size - off) // rsize
        whole = record_struct(fields, 12, rsize) if count > 1 else None
        if whole is None:
            return 0
        start = mmap.PAGESIZE + off
        word, step = start >> 2, rsize >> 2
        stop = word + count * step
        u32 = ring.u32
        count = min(first_mismatch(u32[word:stop:step].tolist(), SAMPLE),
                    first_mismatch(u32[word + 1:stop:step].tolist(), u32[word + 1]))
        if count < 2:
            return 0
        out.extend(whole.iter_unpack(ring.view[start:start + count * rsize]))
        return count

    def _wrapped(self, mm: mmap.mmap, base: int, off: int, rsize: int, size: int, out: Records,
                 decode: Optional[Callable[[Any, int], Any]]) -> None:
        """A record crossing the end of the ring: join both parts, then parse."""
        rec = mm[base + off:base + size] + mm[base:base + off + rsize - size]
        parsed = self._parse_record(rec)
        if parsed.header.type == SAMPLE:
            out.append(parsed.body.data if decode is None else decode(rec, 12))
        elif parsed.header.type == LOST:
            self.lost += parsed.body.lost

    def _commit(self) -> None:
        if self.closed:
            return
        for ring in self._rings:
            if ring.tail != ring.committed:
                ring.u64[_TAIL] = ring.tail
                ring.committed = ring.tail

    def _fullest(self) -> float:
        return max(((ring.u64[_HEAD] - ring.tail) / ring.size for ring in self._rings),
                   default=0.0)

    def close(self) -> None:
        """Remove this reader's events from the map, then release rings and fds."""
        for ring in self._rings:
            try:
                bpfsys.map_delete_elem(self._map_fd, _KEY(ring.cpu))
            except (BPFError, OSError):
                pass  # the map is gone or the slot was replaced: nothing to undo
        self._rings = []
        super().close()
