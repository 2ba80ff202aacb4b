"""A read-only reader of bbolt database files (the key/value store behind
containerd's metadata, ``meta.db``, and podman's ``bolt_state.db``).

Pure: it takes the file's bytes and walks them; it never writes, locks or
opens anything itself. Layout (bbolt's, little-endian): every page starts
with a 16-byte header (id u64, flags u16, count u16, overflow u32); pages 0
and 1 are the two meta pages (magic 0xED0CDAED, the valid one with the
higher transaction id is current) whose root bucket points at a B+tree of
branch pages (elements: pos u32, ksize u32, child page u64) and leaf pages
(elements: flags u32, pos u32, ksize u32, vsize u32; ``pos`` counts from the
element itself). A leaf value flagged as a bucket holds the sub-bucket's
root page and sequence; root page 0 means the bucket's one leaf page is
stored inline, right after those 16 bytes.

A database read while its owner writes it may be caught half-way; every
inconsistency raises BoltError, which callers treat as "state unreadable".
"""
from __future__ import annotations

import struct
from typing import Dict, Iterator, Optional, Tuple, Union

MAGIC = 0xED0CDAED
_PAGE = struct.Struct("<QHHI")          # id, flags, count, overflow
_META = struct.Struct("<IIIIQQQQQQ")   # magic, version, page size, flags, root, seq, freelist, pgid, txid, checksum
_BRANCH = struct.Struct("<IIQ")         # pos, ksize, child page
_LEAF = struct.Struct("<IIII")          # flags, pos, ksize, vsize
_BRANCH_PAGE, _LEAF_PAGE, _META_PAGE = 0x01, 0x02, 0x04
_BUCKET_LEAF = 0x01
_MAX_DEPTH = 64


class BoltError(ValueError):
    """The bytes are not a consistent bbolt database."""


def _fnv64a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


Value = Union[bytes, "Bucket"]


class Bucket:
    """One bucket: a mapping of keys to values (bytes) or nested Buckets."""

    def __init__(self, db: "BoltDB", root: int, inline: Optional[memoryview], depth: int) -> None:
        self._db, self._root, self._inline, self._depth = db, root, inline, depth

    def items(self) -> Iterator[Tuple[bytes, Value]]:
        if self._inline is not None:
            yield from self._leaf(self._inline, 0, len(self._inline))
        else:
            yield from self._walk(self._root, 0)

    def _walk(self, pgid: int, depth: int) -> Iterator[Tuple[bytes, Value]]:
        if depth > _MAX_DEPTH:
            raise BoltError("b+tree deeper than any real database")
        buf, start, end = self._db.page(pgid)
        flags, count = _PAGE.unpack_from(buf, start)[1:3]
        if flags & _LEAF_PAGE:
            yield from self._leaf(buf, start, end)
        elif flags & _BRANCH_PAGE:
            for i in range(count):
                child = _BRANCH.unpack_from(buf, start + _PAGE.size + i * _BRANCH.size)[2]
                yield from self._walk(child, depth + 1)
        else:
            raise BoltError(f"page {pgid}: flags {flags:#x} are neither branch nor leaf")

    def _leaf(self, buf: memoryview, start: int, end: int) -> Iterator[Tuple[bytes, Value]]:
        count = _PAGE.unpack_from(buf, start)[2]
        for i in range(count):
            elem = start + _PAGE.size + i * _LEAF.size
            if elem + _LEAF.size > end:
                raise BoltError("leaf element outside its page")
            flags, pos, ksize, vsize = _LEAF.unpack_from(buf, elem)
            k0 = elem + pos
            v0, v1 = k0 + ksize, k0 + ksize + vsize
            if v1 > end:
                raise BoltError("leaf key/value outside its page")
            key = bytes(buf[k0:v0])
            if flags & _BUCKET_LEAF:
                if vsize < 16:
                    raise BoltError("bucket value shorter than its header")
                root = struct.unpack_from("<Q", buf, v0)[0]
                if self._depth >= _MAX_DEPTH:
                    raise BoltError("buckets nested deeper than any real database")
                inline = buf[v0 + 16:v1] if root == 0 else None
                yield key, Bucket(self._db, root, inline, self._depth + 1)
            else:
                yield key, bytes(buf[v0:v1])

    def get(self, key: bytes) -> Optional[Value]:
        for k, v in self.items():
            if k == key:
                return v
        return None

    def bucket(self, *path: bytes) -> Optional["Bucket"]:
        """The nested bucket at ``path`` (None when any step is missing or not a bucket)."""
        b: Optional[Bucket] = self
        for key in path:
            v = b.get(key) if b is not None else None
            b = v if isinstance(v, Bucket) else None
        return b

    def values(self) -> Dict[bytes, bytes]:
        """The plain (non-bucket) key/values of this bucket."""
        return {k: v for k, v in self.items() if isinstance(v, bytes)}


class BoltDB:
    """A bbolt database held in memory (bytes or an mmap)."""

    def __init__(self, data: Union[bytes, memoryview]) -> None:
        self.buf = memoryview(data)
        self.page_size, root = self._current_meta()
        self.root = Bucket(self, root, None, 0)

    def _current_meta(self) -> Tuple[int, int]:
        """(page size, root page) of the valid meta page with the higher txid.
        Page 1 sits one page in: its size is page 0's, or a usual size
        when page 0 is torn."""
        first = self._meta_at(0)
        sizes = [first[0]] if first else [4096, 8192, 16384, 65536]
        candidates = [m for m in [first] + [self._meta_at(size) for size in sizes] if m]
        if not candidates:
            raise BoltError("no valid meta page (not a bbolt file)")
        page_size, root, _ = max(candidates, key=lambda m: m[2])
        return page_size, root

    def _meta_at(self, off: int) -> Optional[Tuple[int, int, int]]:
        """(page size, root page, txid) of a valid meta page at ``off``."""
        if off + _PAGE.size + _META.size > len(self.buf):
            return None
        flags = _PAGE.unpack_from(self.buf, off)[1]
        fields = _META.unpack_from(self.buf, off + _PAGE.size)
        magic, version, page_size, _, root, _, _, _, txid, checksum = fields
        if not flags & _META_PAGE or magic != MAGIC or version != 2 or page_size < 512:
            return None
        body = bytes(self.buf[off + _PAGE.size:off + _PAGE.size + _META.size - 8])
        if _fnv64a(body) != checksum:
            return None
        return page_size, root, txid

    def page(self, pgid: int) -> Tuple[memoryview, int, int]:
        """(buffer, start, end) of page ``pgid`` including its overflow pages."""
        start = pgid * self.page_size
        if pgid < 2 or start + _PAGE.size > len(self.buf):
            raise BoltError(f"page {pgid} is outside the file")
        pid, _, _, overflow = _PAGE.unpack_from(self.buf, start)
        if pid != pgid:
            raise BoltError(f"page {pgid} says it is page {pid}")
        end = start + (overflow + 1) * self.page_size
        if end > len(self.buf):
            raise BoltError(f"page {pgid} runs past the end of the file")
        return self.buf, start, end
