"""On-disk caches of CO-RE: relocation results, and the index of kernel BTF.

Owns the cache directory ($XDG_CACHE_HOME/pybpf, else ~/.cache/pybpf), the key
(a hash of the target BTF files' contents, of the object's local BTF and of
its relocation records; a file's content hash is remembered by its identity:
path, inode, size, mtime and boot id; the running kernel's own BTF files
under /sys/kernel/btf cannot change within a boot, so their identity alone
stands for their content and they are never read for the key) and the file
formats. Results: JSON carrying its own key and a checksum of its body, so a
stale, truncated or edited file is detected and ignored (the results are
then recomputed and the file rewritten). Kernel BTF index (``btf.Spec``'s
pass over the types, saved per file digest so the next object loaded on
this boot skips it): a header with a record count and crc32, then the raw
u32 arrays. Writes are atomic (temporary file + rename). Instructions are
never cached: results are re-applied, and re-validated, on every load.
"""
from __future__ import annotations

import itertools
import json
import os
import struct
import sys
import threading
import zlib

try:  # the builtin module: hashlib would also initialise OpenSSL (a few ms at start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - Pythons built without it
    from hashlib import blake2b
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from pybpf.core.result import RelocResult

FORMAT = 1  # bump when the algorithm or the record changes meaning
DISABLE_ENV = "PYBPF_NO_CORE_CACHE"
KERNEL_BTF_DIR = "/sys/kernel/btf/"
_BYTE_ORDER = 1 if sys.byteorder == "little" else 2

_lock = threading.Lock()
_file_digests: Dict[str, str] = {}
_boot: Optional[str] = None


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pybpf")


def enabled() -> bool:
    return not os.environ.get(DISABLE_ENV)


def _boot_id() -> str:
    """This boot's id ('' if unknown), read once per process: it cannot change under us."""
    global _boot
    if _boot is None:
        try:
            with open("/proc/sys/kernel/random/boot_id") as fh:
                _boot = fh.read().strip()
        except OSError:
            _boot = ""
    return _boot


def _identity(path: str) -> str:
    """What must stay equal for a file's digest to still hold: path, inode, size, mtime, boot.

    The boot id covers sysfs files (kernel BTF), whose content changes only across boots.
    """
    st = os.stat(path)
    return f"{os.path.abspath(path)}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{_boot_id()}"


def _digest_memo() -> str:
    return os.path.join(cache_dir(), "digests.json")


def _read_memo() -> Dict[str, str]:
    try:
        memo = json.loads(_read(_digest_memo(), "r"))
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def file_digest(path: str) -> str:
    """blake2b of a file's content, remembered per process and on disk by file identity.

    The running kernel's BTF (under /sys/kernel/btf, with a known boot id) is
    keyed by its identity instead: it is fixed for the life of a boot.
    """
    ident = _identity(path)
    with _lock:
        hit = _file_digests.get(ident)
    if hit is not None:
        return hit
    if ident.startswith(KERNEL_BTF_DIR) and not ident.endswith("|"):
        hit = blake2b(f"kernel-btf|{ident}".encode(), digest_size=20).hexdigest()
        with _lock:
            _file_digests[ident] = hit
        return hit
    memo = _read_memo()
    hit = memo.get(ident)
    if not isinstance(hit, str):
        with open(path, "rb") as fh:
            hit = blake2b(fh.read(), digest_size=20).hexdigest()
        memo = {k: v for k, v in memo.items() if not k.startswith(ident.split("|", 1)[0] + "|")}
        memo[ident] = hit
        _atomic_write(_digest_memo(), json.dumps(memo))
    with _lock:
        _file_digests[ident] = hit
    return hit


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


def _checksum(body: str) -> str:
    return blake2b(body.encode(), digest_size=16).hexdigest()


def _path(key: str) -> str:
    return os.path.join(cache_dir(), f"core-{key}.json")


def load(key: str, programs: Mapping[str, Sequence[Any]]) -> Optional[Dict[str, List[RelocResult]]]:
    """Cached results for ``key``, or None if absent, stale or corrupt."""
    try:
        text = _read(_path(key), "r")
        doc = json.loads(text)
        if doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        body = doc["body"]
        if _checksum(body) != doc.get("check"):
            return None
        raw = json.loads(body)
        out = {name: [RelocResult.from_dict(d) for d in raw[name]] for name in programs}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    for name, relos in programs.items():
        if len(out[name]) != len(relos):
            return None
    return out


def store(key: str, results: Mapping[str, Sequence[RelocResult]]) -> None:
    """Write results for ``key`` (skipped silently if the cache cannot be written)."""
    body = json.dumps({name: [r.to_dict() for r in rs] for name, rs in results.items()},
                      separators=(",", ":"))
    doc = json.dumps({"format": FORMAT, "key": key, "check": _checksum(body), "body": body})
    _atomic_write(_path(key), doc)


INDEX_MAGIC = b"PYBPFIX1"
_INDEX_HEADER = "<8sIII"  # magic, byte order (1 little, 2 big), record count, crc32 of the body


def _index_path(key: str) -> str:
    return os.path.join(cache_dir(), f"btfindex-{key}.bin")


def load_index(key: str) -> Optional[Tuple[bytes, bytes]]:
    """A saved BTF index (word offsets, name offsets) for the file ``key`` names, or None
    when absent, truncated or damaged."""
    try:
        data = _read(_index_path(key), "rb")
    except OSError:
        return None
    head = struct.calcsize(_INDEX_HEADER)
    try:
        magic, order, count, crc = struct.unpack_from(_INDEX_HEADER, data)
    except struct.error:
        return None
    body = memoryview(data)[head:]
    if (magic != INDEX_MAGIC or order != _BYTE_ORDER or len(body) != 8 * count
            or zlib.crc32(body) != crc):
        return None
    return bytes(body[:4 * count]), bytes(body[4 * count:])


def store_index(key: str, offsets: bytes, names: bytes) -> None:
    """Save a BTF index for ``key`` (skipped silently if the cache cannot be written)."""
    if len(offsets) != len(names) or len(offsets) % 4:
        return
    crc = zlib.crc32(names, zlib.crc32(offsets))
    _atomic_write(_index_path(key), struct.pack(_INDEX_HEADER, INDEX_MAGIC, _BYTE_ORDER,
                                                len(offsets) // 4, crc) + offsets + names)


def _read(path: str, mode: str) -> Any:
    with open(path, mode) as fh:
        return fh.read()


_tmp_serial = itertools.count()


def _atomic_write(path: str, data: Union[str, bytes]) -> None:
    """Write via a temporary file and rename; a cache that cannot be written is skipped.

    The temporary name is unique among live threads of all processes, so a file
    already there is a dead writer's leftover and is overwritten (tempfile is not
    used: importing it costs milliseconds on every cold start).
    """
    try:
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, f".tmp-{os.getpid()}-{threading.get_ident()}-"
                                      f"{next(_tmp_serial)}")
        fd = os.open(tmp, (os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
                          | os.O_NOFOLLOW), 0o600)
        try:
            with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return
