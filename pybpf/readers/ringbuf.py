"""RingBufReader: the consumer side of a BPF_MAP_TYPE_RINGBUF map.

Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position and is
mapped read-write; page 1 holds the producer position, followed by the data
area. Each record starts with an 8-byte header: ``u32 len`` (bit 31 BUSY:
being written; bit 30 DISCARD) and ``u32 pg_off``; records are 8-byte
aligned. The consumer position is published after the records before it
are consumed.

The kernel lays the data area out twice in a row so that a record wrapping
around the end is contiguous, and libbpf maps both copies. Every page of a
mapping is resident from the start (remap_vmalloc_range), so the second copy
would cost the ring's size again in resident memory for the rare record that
wraps: this reader maps the data area once (the kernel accepts a shorter
mapping) and joins a wrapping record's two parts in a copy.
"""
from __future__ import annotations

import mmap
import select
import struct

from pybpf.errors import BPFError, syscall_error
from pybpf.readers.base import Reader
from pybpf.readers.bulk import first_mismatch, record_struct
from pybpf.readers.source import map_source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    from pybpf.readers.base import Decoder, Records
    from pybpf.readers.source import MapLike

BPF_MAP_TYPE_RINGBUF = 27
BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
FLAG_BITS = BUSY_BIT | DISCARD_BIT
LEN_MASK = DISCARD_BIT - 1
HDR_SIZE = 8


class RingBufReader(Reader):
    """Read records from a BPF ring buffer map (a ``Map`` or a map fd).

    ``lost`` stays 0: a full ring buffer makes ``bpf_ringbuf_reserve`` fail
    inside the BPF program, which is where drops must be counted.
    """

    def __init__(self, map_or_fd: Union[MapLike, int]) -> None:
        super().__init__()
        try:
            src = map_source(map_or_fd)
            if src.type != BPF_MAP_TYPE_RINGBUF:
                raise BPFError(f"map {src.name!r}: RingBufReader needs a ringbuf map "
                               f"(type {BPF_MAP_TYPE_RINGBUF}), got type {src.type}")
            self.name = src.name
            page = mmap.PAGESIZE
            size = src.max_entries
            self._mask = size - 1
            self._end = page + size  # the data area's end in the producer mapping
            try:
                self._cons_map = mmap.mmap(src.fd, page, mmap.MAP_SHARED,
                                           mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
                self._mmaps.append(self._cons_map)
                self._prod_map = mmap.mmap(src.fd, page + size, mmap.MAP_SHARED,
                                           mmap.PROT_READ, offset=page)
                self._mmaps.append(self._prod_map)
            except OSError as exc:
                raise syscall_error("mmap", exc.errno or 0, f"ring buffer map {src.name!r}") \
                    from None
            self._view = memoryview(self._prod_map)
            self._views.append(self._view)
            # word views: header and position reads without struct calls
            self._u32 = self._view.cast("I")
            self._views.append(self._u32)
            self._prod_u64 = self._view[:8].cast("Q")
            self._views.append(self._prod_u64)
            # positions are read and written as whole native words: struct's
            # "<Q" packs byte by byte, and the kernel could see a torn value
            self._cons_u64 = memoryview(self._cons_map).cast("Q")
            self._views.append(self._cons_u64)
            self._cons = self._cons_u64[0]
            self._committed = self._cons
            self._check_open().register(src.fd, select.EPOLLIN)
        except BaseException:
            self.close()
            raise

    def _collect(self, out: Records, copy: bool, decode: Optional[Decoder] = None) -> None:
        cons = self._cons
        prod = self._prod_u64[0]
        if cons >= prod:
            return
        pm = self._prod_map
        u32 = self._u32
        mask = self._mask
        end = self._end
        base = mmap.PAGESIZE + HDR_SIZE  # data page + record header
        append = out.append
        if isinstance(decode, struct.Struct):
            cons = self._collect_struct(out, decode, cons, prod)
        else:
            src = pm if copy or decode is not None else self._view
            while cons < prod:
                off = (cons & mask) + base
                length = u32[(off - HDR_SIZE) >> 2]
                if length & FLAG_BITS:
                    if length & BUSY_BIT:
                        break
                    cons += ((length & LEN_MASK) + 15) & ~7  # discarded
                    continue
                if off + length <= end:
                    append(src[off:off + length] if decode is None else decode(pm, off))
                else:
                    rec = self._span(off, length)
                    append(rec if decode is None else decode(rec, 0))
                cons += (length + 15) & ~7
        self._cons = cons
        if copy:
            self._commit()

    def _span(self, off: int, size: int) -> bytes:
        """``size`` bytes of the data area from mapping offset ``off``, continued
        at the data area's start past its end (a record that wraps)."""
        pm, end, page = self._prod_map, self._end, mmap.PAGESIZE
        if off >= end:
            off -= end - page
        if off + size <= end:
            return pm[off:off + size]
        return pm[off:end] + pm[page:page + off + size - end]

    def _collect_struct(self, out: Records, fields: struct.Struct, cons: int, prod: int) -> int:
        """Decode with ``fields``; runs of equal-length records in one iter_unpack."""
        pm, view, u32, mask, end = self._prod_map, self._view, self._u32, self._mask, self._end
        unpack = fields.unpack_from
        page = mmap.PAGESIZE
        while cons < prod:
            hdr = (cons & mask) + page
            length = u32[hdr >> 2]
            if length & FLAG_BITS:
                if length & BUSY_BIT:
                    break
                cons += ((length & LEN_MASK) + 15) & ~7
                continue
            stride = (length + 15) & ~7
            # a run stops before the data area's end: what follows it wraps
            count = min(prod - cons, end - hdr) // stride
            whole = record_struct(fields, HDR_SIZE, stride) if count > 1 else None
            if whole is not None:
                stop = hdr + count * stride
                count = first_mismatch(u32[hdr >> 2:stop >> 2:stride >> 2].tolist(), length)
                if count > 1:
                    stop = hdr + count * stride
                    out.extend(whole.iter_unpack(view[hdr:stop]))
                    cons += count * stride
                    continue
            if hdr + HDR_SIZE + fields.size <= end:
                out.append(unpack(pm, hdr + HDR_SIZE))
            else:
                out.append(unpack(self._span(hdr + HDR_SIZE, fields.size)))
            cons += stride
        return cons

    def _commit(self) -> None:
        if self._cons != self._committed and not self.closed:
            self._cons_u64[0] = self._cons
            self._committed = self._cons

    def _fullest(self) -> float:
        return (self._prod_u64[0] - self._cons) / (self._mask + 1)

    def pending_bytes(self) -> int:
        """Bytes written by the producer and not consumed yet."""
        return self._prod_u64[0] - self._cons
