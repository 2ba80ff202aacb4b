"""On-disk caches of CO-RE: relocation results, and the index of kernel BTF.

Owns the entries' keys and formats; where they live and when they are trusted
is pybpf.cachedir's business (ownership, permissions, no symlinks, a
keyed MAC, bounds, pruning). The key: a hash of the target BTF files'
contents, of the object's local BTF and of its relocation records; a file's
content hash is remembered by its identity (path, inode, size, mtime, boot
id); the running kernel's own BTF files under /sys/kernel/btf cannot change
within a boot, so their identity alone stands for their content and they are
never read for the key. Entries: results (``core-<key>.bin``: JSON carrying its
own format and key), the kernel BTF index (``btfindex-<digest>.bin``:
``btf.Spec``'s pass over the types, so the next object loaded on this boot
skips it: byte order, record count, then the raw u32 arrays) and the digest
memo (``digests.bin``). Each is sealed (magic + MAC) and size-bounded; one that
fails to read, unseal or validate is ignored and rewritten, never fatal.
Instructions are never cached: results are re-applied, and re-validated, on
every load.
"""
from __future__ import annotations

import json
import struct
import sys
import threading

try:  # the builtin module: hashlib would also initialise OpenSSL (a few ms at start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - Pythons built without it
    from hashlib import blake2b
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from pybpf import cachedir
from pybpf.core.result import RelocResult

FORMAT = 2  # bump when the algorithm or the record changes meaning
KERNEL_BTF_DIR = "/sys/kernel/btf/"
_BYTE_ORDER = 1 if sys.byteorder == "little" else 2

_lock = threading.Lock()
_file_digests: Dict[str, str] = {}


RESULTS_MAGIC = b"PYBPFCR2"
INDEX_MAGIC = b"PYBPFIX2"
MEMO_MAGIC = b"PYBPFDG2"
MEMO_NAME = "digests.bin"
MAX_RESULTS = 16 << 20  # bytes of one results entry
MAX_INDEX = 64 << 20  # bytes of one BTF index (vmlinux: about 1 MiB)
MAX_MEMO = 1 << 20
_UNUSABLE = (ValueError, KeyError, TypeError, AttributeError, RecursionError, struct.error)


def _read_memo(d: "cachedir.CacheDir") -> Dict[str, str]:
    body = d.load_sealed(MEMO_NAME, MEMO_MAGIC, MAX_MEMO)
    try:
        memo = json.loads(bytes(body)) if body is not None else {}
    except _UNUSABLE:
        return {}
    if not isinstance(memo, dict):
        return {}
    return {k: v for k, v in memo.items() if isinstance(k, str) and isinstance(v, str)}


def file_digest(path: str) -> str:
    """blake2b of a file's content, remembered per process and on disk by file identity.

    The running kernel's BTF (under /sys/kernel/btf, with a known boot id) is
    keyed by its identity instead: it is fixed for the life of a boot.
    """
    ident = cachedir.file_identity(path)
    with _lock:
        hit = _file_digests.get(ident)
    if hit is not None:
        return hit
    if ident.startswith(KERNEL_BTF_DIR) and not ident.endswith("|"):
        hit = blake2b(f"kernel-btf|{ident}".encode(), digest_size=20).hexdigest()
        with _lock:
            _file_digests[ident] = hit
        return hit
    with cachedir.opened() as d:
        memo = _read_memo(d) if d is not None else {}
        hit = memo.get(ident)
        if hit is None:
            hit = _hash_file(path)
            if d is not None:
                memo = {k: v for k, v in memo.items()
                        if not k.startswith(ident.split("|", 1)[0] + "|")}
                memo[ident] = hit
                d.store_sealed(MEMO_NAME, MEMO_MAGIC, json.dumps(memo).encode())
    with _lock:
        _file_digests[ident] = hit
    return hit


def _hash_file(path: str) -> str:
    h = blake2b(digest_size=20)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def object_key(target_files: Sequence[str], local_btf: bytes,
               programs: Mapping[str, Sequence[Any]]) -> str:
    """The cache key of relocating ``programs`` (name -> relos) of one object against files."""
    h = blake2b(digest_size=20)
    h.update(f"pybpf-core/{FORMAT}\0".encode())
    for path in target_files:
        h.update(f"target {file_digest(path)}\0".encode())
    h.update(blake2b(local_btf, digest_size=20).digest())
    for name, relos in programs.items():
        h.update(f"prog {name}\0".encode())
        for r in relos:
            h.update(f"{int(r.insn_off)},{int(r.type_id)},{int(r.kind)},{r.access_str}\0".encode())
    return h.hexdigest()


def _name(key: str) -> str:
    return f"core-{key}.bin"


def load(key: str, programs: Mapping[str, Sequence[Any]]) -> Optional[Dict[str, List[RelocResult]]]:
    """Cached results for ``key``, or None if absent, stale, corrupt or not trusted."""
    body = cachedir.load_sealed(_name(key), RESULTS_MAGIC, MAX_RESULTS)
    if body is None:
        return None
    try:
        doc = json.loads(bytes(body))
        if doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        raw = doc["results"]
        out = {name: [RelocResult.from_dict(r) for r in raw[name]] for name in programs}
    except _UNUSABLE:
        return None
    for name, relos in programs.items():
        if len(out[name]) != len(relos):
            return None
    return out


def store(key: str, results: Mapping[str, Sequence[RelocResult]]) -> None:
    """Write results for ``key`` (skipped silently if the cache cannot be written)."""
    doc = {"format": FORMAT, "key": key,
           "results": {name: [r.to_dict() for r in rs] for name, rs in results.items()}}
    cachedir.store_sealed(_name(key), RESULTS_MAGIC, json.dumps(doc, separators=(",", ":")).encode())


_INDEX_HEADER = "<II"  # byte order (1 little, 2 big), record count


def _index_name(key: str) -> str:
    return f"btfindex-{key}.bin"


def load_index(key: str) -> Optional[Tuple[bytes, bytes]]:
    """A saved BTF index (word offsets, name offsets) for the file ``key`` names, or None
    when absent, truncated, damaged or not trusted. The MAC covers every record; the
    Spec that adopts it checks it against the file again (pybpf.btf.spec)."""
    data = cachedir.load_sealed(_index_name(key), INDEX_MAGIC, MAX_INDEX)
    if data is None:
        return None
    head = struct.calcsize(_INDEX_HEADER)
    try:
        order, count = struct.unpack_from(_INDEX_HEADER, data)
    except struct.error:
        return None
    body = data[head:]
    if order != _BYTE_ORDER or len(body) != 8 * count:
        return None
    return bytes(body[:4 * count]), bytes(body[4 * count:])


def store_index(key: str, offsets: bytes, names: bytes) -> None:
    """Save a BTF index for ``key`` (skipped silently if the cache cannot be written)."""
    if len(offsets) != len(names) or len(offsets) % 4:
        return
    cachedir.store_sealed(_index_name(key), INDEX_MAGIC,
                          struct.pack(_INDEX_HEADER, _BYTE_ORDER, len(offsets) // 4) + offsets + names)
