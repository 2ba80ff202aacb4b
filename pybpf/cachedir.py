"""The on-disk cache directory and its trust model: what pybpf reads back only if safe.

Owns choosing, opening and checking the cache directory, reading and writing
its files, sealing them with a key, and pruning, for every cache pybpf keeps
(CO-RE results and the kernel BTF index, pybpf.core.cache; prepared objects,
pybpf.prepared); and the identity of a file whose content a key stands for.
What is relied on:

1. Ownership and permissions (the protection): the directory is used only if
   it is owned by the effective user and not writable by group or others,
   and every directory above it is owned by root or that user and is not
   writable by others unless sticky (/tmp); the path is walked from ``/`` one
   component at a time with O_NOFOLLOW (symlinks in the given path are
   resolved once, beforehand, and the walk then refuses any symlink swapped
   in). Files are opened relative to the directory's fd with O_NOFOLLOW and
   O_NONBLOCK and used only when they are regular, owned by the effective
   user, not group/other-writable, not hard-linked, and within a size bound.
2. A key (32 random bytes in ``key``, mode 0600, created by the first
   writer): each entry carries a keyed blake2b MAC of its name and body, so
   an entry that a process without the key wrote (copied from another cache,
   another user's, or planted while the checks above were somehow bypassed)
   is detected before anything in it is parsed. It adds nothing against the
   owner of the cache, who can read the key: that is the user pybpf runs as.
3. Validation of the content itself (by the cache that reads it): whatever
   fails any check is discarded and rebuilt, never fatal.

A root process whose usual directory ($XDG_CACHE_HOME/pybpf, else
~/.cache/pybpf) fails the checks falls back to /var/cache/pybpf, then
/run/pybpf; other users run uncached. Either way it says why, once, on
stderr. ``PYBPF_NO_CORE_CACHE=1`` turns the cache off. Entries are pruned when
older than MAX_AGE or when the directory holds more than MAX_TOTAL bytes.
"""
from __future__ import annotations

import itertools
import os
import stat
import sys
import threading
import time
from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator, List, Optional, Set, Tuple

try:  # the builtin module: hashlib would also initialise OpenSSL (a few ms at start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - Pythons built without it
    from hashlib import blake2b

DISABLE_ENV = "PYBPF_NO_CORE_CACHE"
ROOT_FALLBACKS = ("/var/cache/pybpf", "/run/pybpf")
KEY_NAME = "key"
KEY_LEN = 32
MAC_LEN = 32
MAX_AGE = 30 * 24 * 3600  # seconds since an entry was last written
MAX_TOTAL = 64 << 20  # bytes kept in the directory, oldest entries removed first
TMP_PREFIX = ".tmp-"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

_lock = threading.Lock()
_told: Set[str] = set()
_tmp_serial = itertools.count()
_boot: Optional[str] = None


class Untrusted(Exception):
    """Why a directory on the cache path cannot be trusted (its text is the reason)."""


def preferred_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pybpf")


def enabled() -> bool:
    return not os.environ.get(DISABLE_ENV)


def boot_id() -> str:
    """This boot's id ('' if unknown), read once per process: it cannot change under us."""
    global _boot
    if _boot is None:
        try:
            with open("/proc/sys/kernel/random/boot_id") as fh:
                _boot = fh.read().strip()
        except OSError:
            _boot = ""
    return _boot


def file_identity(path: str) -> str:
    """What must stay equal for a file's content to be taken as unchanged: path, inode,
    size, mtime, boot. The boot id covers sysfs files (kernel BTF), whose content
    changes only across boots."""
    st = os.stat(path)
    return f"{os.path.abspath(path)}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{boot_id()}"


def _check_ancestor(fd: int, path: str) -> None:
    st = os.fstat(fd)
    if st.st_uid not in (0, os.geteuid()):
        raise Untrusted(f"{path} is owned by uid {st.st_uid}")
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise Untrusted(f"{path} is writable by group or others")


def _check_own(st: os.stat_result, path: str) -> None:
    if st.st_uid != os.geteuid():
        raise Untrusted(f"{path} is owned by uid {st.st_uid}, not {os.geteuid()}")
    if st.st_mode & 0o022:
        raise Untrusted(f"{path} is writable by group or others (chmod go-w {path})")


def _open_step(parent: int, name: str, path: str, create: bool) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
        try:
            os.mkdir(name, 0o700, dir_fd=parent)
        except FileExistsError:
            pass
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (40, 20):  # ELOOP, ENOTDIR: a symlink or a file where a directory is
            raise Untrusted(f"{path} is not a directory (a symlink?)") from None
        raise


def open_trusted(path: str, create: bool = True) -> int:
    """An fd of the directory ``path`` if the trust model accepts it (see the module)."""
    parent, leaf = os.path.split(os.path.abspath(path))
    parts = [p for p in os.path.realpath(parent).split("/") if p]
    fd = os.open("/", _DIR_FLAGS)
    try:
        _check_ancestor(fd, "/")
        walked = ""
        for name in parts:
            walked += "/" + name
            nxt = _open_step(fd, name, walked, create)
            os.close(fd)
            fd = nxt
            _check_ancestor(fd, walked)
        nxt = _open_step(fd, leaf, path, create)
        os.close(fd)
        fd = nxt
        _check_own(os.fstat(fd), path)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _tell_once(text: str) -> None:
    with _lock:
        if text in _told:
            return
        _told.add(text)
    print(f"pybpf: {text}", file=sys.stderr)


def _choose() -> Optional[Tuple[int, str]]:
    """(fd, path) of the first acceptable cache directory, or None (said once why)."""
    first = preferred_dir()
    candidates = [first] + (list(ROOT_FALLBACKS) if os.geteuid() == 0 else [])
    reasons: List[str] = []
    for path in candidates:
        try:
            fd = open_trusted(path)
        except (Untrusted, OSError) as exc:
            reasons.append(str(exc) if isinstance(exc, Untrusted)
                           else f"{path}: {exc.strerror or exc}")
            continue
        if path != first:
            _tell_once(f"cache {first} not used ({reasons[0]}); using {path}")
        return fd, path
    _tell_once(f"running without a cache: {'; '.join(reasons)} "
               f"(set {DISABLE_ENV}=1 to turn the cache off)")
    return None


class CacheDir:
    """An open, checked cache directory: bounded reads, atomic writes, sealed entries."""

    def __init__(self, fd: int, path: str) -> None:
        self.fd = fd
        self.path = path
        self._key: Optional[bytes] = None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # -- files -------------------------------------------------------------------------------

    def read(self, name: str, limit: int) -> Optional[bytes]:
        """The content of ``name`` if it passes the file checks and fits ``limit``, else None."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
                         | os.O_NOCTTY, dir_fd=self.fd)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > limit:
                return None
            _check_own(st, name)
            chunks = []
            left = st.st_size + 1  # one byte more: a file that grew is caught by the length
            while left > 0:
                chunk = os.read(fd, left)
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            data = b"".join(chunks)
            return data if len(data) == st.st_size else None
        except (OSError, Untrusted):
            return None
        finally:
            os.close(fd)

    def write(self, name: str, data: bytes) -> bool:
        """Replace ``name`` atomically with ``data`` (False if the directory refuses)."""
        tmp = f"{TMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{next(_tmp_serial)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=self.fd)
        except OSError:
            return False
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            return True
        except OSError:
            try:
                os.unlink(tmp, dir_fd=self.fd)
            except OSError:
                pass
            return False

    # -- sealing -----------------------------------------------------------------------------

    def _secret(self, create: bool) -> Optional[bytes]:
        if self._key is None:
            key = self.read(KEY_NAME, KEY_LEN)
            if (key is None or len(key) != KEY_LEN) and create:
                key = os.urandom(KEY_LEN)
                if not self.write(KEY_NAME, key):
                    return None
            self._key = key if key is not None and len(key) == KEY_LEN else None
        return self._key

    def _mac(self, key: bytes, name: str, body: bytes) -> bytes:
        h = blake2b(key=key, digest_size=MAC_LEN)
        h.update(name.encode() + b"\0")
        h.update(body)
        return h.digest()

    def load_sealed(self, name: str, magic: bytes, limit: int) -> Optional[memoryview]:
        """The body of entry ``name`` (a view, not copied) if its magic and MAC hold, else None."""
        data = self.read(name, limit)
        key = self._secret(create=False)
        head = len(magic) + MAC_LEN
        if data is None or key is None or len(data) < head or data[:len(magic)] != magic:
            return None
        body = memoryview(data)[head:]
        if self._mac(key, name, body) != data[len(magic):head]:
            return None
        return body

    def store_sealed(self, name: str, magic: bytes, body: bytes) -> None:
        key = self._secret(create=True)
        if key is not None and self.write(name, magic + self._mac(key, name, body) + body):
            self.prune(keep=name)

    # -- bounds ------------------------------------------------------------------------------

    def prune(self, keep: str = "", now: Optional[float] = None) -> None:
        """Remove entries older than MAX_AGE, then the oldest until MAX_TOTAL is met."""
        now = time.time() if now is None else now
        entries = []
        try:
            with os.scandir(self.fd) as it:
                for entry in it:
                    if entry.name in (KEY_NAME, keep):
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    entries.append((st.st_mtime, st.st_size, entry.name))
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for mtime, size, name in sorted(entries):
            stale_tmp = name.startswith(TMP_PREFIX) and now - mtime > 3600
            if now - mtime > MAX_AGE or total > MAX_TOTAL or stale_tmp:
                try:
                    os.unlink(name, dir_fd=self.fd)
                    total -= size
                except OSError:
                    pass


@contextmanager
def opened() -> Iterator[Optional[CacheDir]]:
    """The cache directory for this process, checked now (None: uncached, said why once)."""
    chosen = _choose() if enabled() else None
    if chosen is None:
        yield None
        return
    d = CacheDir(*chosen)
    try:
        yield d
    finally:
        d.close()


def load_sealed(name: str, magic: bytes, limit: int) -> Optional[memoryview]:
    """Entry ``name``'s body from this process's cache directory (see
    CacheDir.load_sealed); None when absent, refused, or the cache is off."""
    with opened() as d:
        return d.load_sealed(name, magic, limit) if d is not None else None


def store_sealed(name: str, magic: bytes, body: bytes) -> None:
    """Keep ``body`` as entry ``name`` (see CacheDir.store_sealed); nothing when
    the cache is off or its directory cannot be used."""
    with opened() as d:
        if d is not None:
            d.store_sealed(name, magic, body)
