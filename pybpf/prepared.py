"""Prepared objects: an object made ready for this kernel, and the sealed cache of them.

A :class:`PreparedObject` is what parsing, linking and CO-RE-relocating a
BPF object for the running kernel produce: per program its final instruction
image (map references left as slots for the fds), type, attach target and
func/line info; the maps to create with their initial images; the object's
BTF (as compiled, for typing maps and events, and as sanitized for this
kernel, to load). It holds no ELF, BTF or CO-RE objects, so loading it
(pybpf.collection) needs only the syscall layer.

:func:`prepare` returns one for an object file (or its bytes) and the
caller's overrides (``constants``, map ``max_entries``, ``programs`` to load,
``exclude``d programs). Against the running kernel it is kept in the cache
directory (pybpf.cachedir: owner and mode checks, no links followed, a keyed
MAC; ``PYBPF_NO_CORE_CACHE=1`` turns it off) under a key made of the object
bytes' hash, the kernel BTF's identity (which includes the boot id, so kernel
config and kallsyms are covered too), the overrides and pybpf's version and
installation; an entry is validated whole and anything wrong with it means a
cold prepare (pybpf.preparer) that rewrites it. Objects whose load needs more
than this record (struct_ops maps, whose values are built from the programs'
fds and the kernel's BTF) are prepared but never stored.

The entry's body: a little-endian u32 length, a JSON header, then the byte
blobs the header refers to as ``{"$b": index}`` (``{"$z": size}`` is a zero
image, mapped anonymously rather than read).
"""
from __future__ import annotations

import functools
import json
import mmap
import os
import stat
import struct

try:  # the builtin module: hashlib would also initialise OpenSSL (a few ms at start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - Pythons built without it
    from hashlib import blake2b

from pybpf import cachedir
from pybpf.errors import ELFError
from pybpf.records import Record, fields_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union
    Source = Union[str, "os.PathLike[str]", bytes]

FORMAT = 1  # bump when the record changes meaning
MAGIC = b"PYBPFPO1"
MAX_ENTRY = 64 << 20
MAX_OBJECT_SIZE = 256 << 20  # as pybpf.elf.source bounds an object file
KERNEL_BTF = "/sys/kernel/btf/vmlinux"
_LEN = struct.Struct("<I")


class PreparedMap(Record):
    """A map to create (MapSpec's fields as the kernel needs them)."""

    __slots__ = ("name", "type", "key_size", "value_size", "max_entries", "flags", "numa_node",
                 "pinning", "map_extra", "key_type_id", "value_type_id",
                 "btf_vmlinux_value_type_id", "inner", "contents", "data", "freeze", "section",
                 "kernel_name")

    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    numa_node: int
    pinning: int
    map_extra: int
    key_type_id: int
    value_type_id: int
    btf_vmlinux_value_type_id: int
    inner: Optional["PreparedMap"]
    contents: Dict[Any, Any]
    data: Any  # the initial image of a global-data map (bytes-like)
    freeze: bool
    section: str
    kernel_name: str

    def __init__(
            self,
            name: str,
            type: int,
            key_size: int = 0,
            value_size: int = 0,
            max_entries: int = 0,
            flags: int = 0,
            numa_node: int = 0,
            pinning: int = 0,
            map_extra: int = 0,
            key_type_id: int = 0,
            value_type_id: int = 0,
            btf_vmlinux_value_type_id: int = 0,
            inner: Optional["PreparedMap"] = None,
            contents: Optional[Dict[Any, Any]] = None,
            data: Any = None,
            freeze: bool = False,
            section: str = ".maps",
            kernel_name: str = "",
    ) -> None:
        self.name = name
        self.type = type
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        self.numa_node = numa_node
        self.pinning = pinning
        self.map_extra = map_extra
        self.key_type_id = key_type_id
        self.value_type_id = value_type_id
        self.btf_vmlinux_value_type_id = btf_vmlinux_value_type_id
        self.inner = inner
        self.contents = dict() if contents is None else contents
        self.data = data
        self.freeze = freeze
        self.section = section
        self.kernel_name = kernel_name

    @property
    def is_global_data(self) -> bool:
        return self.data is not None


class PreparedProgram(Record):
    """A program's final image: ``insns`` with each ``map_slots`` entry (slot, map)
    waiting for that map's fd in its immediate."""

    __slots__ = ("name", "section", "prog_type", "insns", "map_slots", "expected_attach_type",
                 "attach_to", "attach_btf_id", "license", "kernel_version", "flags", "func_info",
                 "line_info", "uses_usdt_specs")

    name: str
    section: str
    prog_type: int
    insns: Any  # bytes-like, 8 bytes a slot
    map_slots: List[Tuple[int, str]]
    expected_attach_type: int
    attach_to: str
    attach_btf_id: int
    license: str
    kernel_version: int
    flags: int
    func_info: Any
    line_info: Any
    uses_usdt_specs: bool

    def __init__(
            self,
            name: str,
            section: str,
            prog_type: int,
            insns: Any,
            map_slots: Optional[List[Tuple[int, str]]] = None,
            expected_attach_type: int = 0,
            attach_to: str = "",
            attach_btf_id: int = 0,
            license: str = "",
            kernel_version: int = 0,
            flags: int = 0,
            func_info: Any = b"",
            line_info: Any = b"",
            uses_usdt_specs: bool = False,
    ) -> None:
        self.name = name
        self.section = section
        self.prog_type = prog_type
        self.insns = insns
        self.map_slots = list() if map_slots is None else map_slots
        self.expected_attach_type = expected_attach_type
        self.attach_to = attach_to
        self.attach_btf_id = attach_btf_id
        self.license = license
        self.kernel_version = kernel_version
        self.flags = flags
        self.func_info = func_info
        self.line_info = line_info
        self.uses_usdt_specs = uses_usdt_specs

    def image(self, fds: Mapping[str, int]) -> bytearray:
        """The instructions with the map fds filled in."""
        out = bytearray(self.insns)
        for slot, name in self.map_slots:
            struct.pack_into("<i", out, slot * 8 + 4, fds[name])
        return out


class PreparedObject(Record):
    """Everything the kernel load of one object needs (see the module)."""

    __slots__ = ("name", "license", "maps", "programs", "btf_bytes", "btf_load", "constants",
                 "origin", "rebuild", "_btf")

    name: str
    license: str
    maps: Dict[str, PreparedMap]
    programs: Dict[str, PreparedProgram]
    btf_bytes: Optional[bytes]  # the object's BTF (typing maps and events)
    btf_load: Optional[bytes]  # the same, sanitized for this kernel
    # `.rodata*` variables: name -> (map, offset, size, integer kind: see set_constants)
    constants: Dict[str, Tuple[str, int, int, str]]
    # not stored: the cold path's context (struct_ops values, explaining a refusal)
    origin: Any
    # not stored: how to prepare this object cold again (set on a cache hit)
    rebuild: Optional[Callable[[], "PreparedObject"]]
    _internal = ("origin", "rebuild")

    def __init__(
            self,
            name: str,
            license: str,
            maps: Dict[str, PreparedMap],
            programs: Dict[str, PreparedProgram],
            btf_bytes: Optional[bytes] = None,
            btf_load: Optional[bytes] = None,
            constants: Optional[Dict[str, Tuple[str, int, int, str]]] = None,
            origin: Any = None,
            rebuild: Optional[Callable[[], "PreparedObject"]] = None,
    ) -> None:
        self.name = name
        self.license = license
        self.maps = maps
        self.programs = programs
        self.btf_bytes = btf_bytes
        self.btf_load = btf_load
        self.constants = dict() if constants is None else constants
        self.origin = origin
        self.rebuild = rebuild
        self._btf: Any = None

    @property
    def btf(self) -> Any:
        """The object's BTF as a pybpf.btf.Spec (None without BTF), parsed on first use."""
        if self._btf is None and self.btf_bytes is not None:
            # deferred: loading never needs the parsed BTF, only callers that decode do
            from pybpf.btf.spec import Spec
            self._btf = Spec.from_bytes(self.btf_bytes, name=f"{self.name}: .BTF")
        return self._btf

    def set_constants(self, values: Mapping[str, Any]) -> None:
        """Write `.rodata` variables into this object's images, as ObjectSpec.constants
        does: bytes of the variable's size, or an int for an integer or enum variable
        (kind "u"/"s": unsigned/signed integer; "e"/"se": enum, signed when negative or
        declared so; "": not an integer)."""
        images: Dict[str, bytearray] = {}
        for name, value in values.items():
            where = f"{self.name}: variable {name!r}"
            if name not in self.constants:
                known = ", ".join(sorted(self.constants)) or "none"
                raise ELFError(f"{self.name}: no global variable {name!r} (known: {known})")
            section, offset, size, kind = self.constants[name]
            if isinstance(value, (bytes, bytearray, memoryview)):
                raw = bytes(value)
                if len(raw) != size:
                    raise ELFError(f"{where} is {size} bytes, got {len(raw)}")
            elif isinstance(value, int):
                if not kind:
                    raise ELFError(f"{where} is not an integer ({size} bytes): pass bytes")
                signed = kind in ("s", "se") or (kind == "e" and value < 0)
                try:
                    raw = value.to_bytes(size, "little", signed=signed)
                except OverflowError:
                    raise ELFError(f"{where}: {value} does not fit in {size} bytes"
                                   f"{' signed' if signed else ' unsigned'}") from None
            else:
                raise ELFError(f"{where}: expected int or bytes, got {type(value).__name__}")
            if section not in images:
                images[section] = bytearray(self.maps[section].data)
                self.maps[section] = self.maps[section].replace(data=images[section])
            images[section][offset:offset + size] = raw

    @property
    def storable(self) -> bool:
        return self.origin is None or not getattr(self.origin, "needs_origin", False)


# -- the key -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def install_identity() -> str:
    """What names this installation of pybpf in cache keys: its version and the identity
    (path, inode, size, mtime) of every module file of the package, so that an edited
    module (an editable install, a patched site-packages) makes new entries instead of
    reusing what older code prepared. Inside a zip archive, the archive's identity."""
    import pybpf
    root = os.path.dirname(os.path.abspath(pybpf.__file__))
    h = blake2b(digest_size=16)
    h.update(pybpf.__version__.encode())
    try:
        for path, st in sorted(_module_stats(root)):
            h.update(f"\0{path}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}".encode())
    except OSError:
        archive = _enclosing_file(root)
        if archive is None:  # pragma: no cover - neither a directory nor an archive
            return pybpf.__version__
        h.update(cachedir.file_identity(archive).encode())
    return h.hexdigest()


def _module_stats(folder: str) -> List[Tuple[str, os.stat_result]]:
    """(path, stat) of the package's .py files under ``folder``; OSError when it is no
    directory. One scandir per folder (os.walk and a stat per path cost about twice as
    much: this runs at every start)."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    found.extend(_module_stats(entry.path))
            elif entry.name.endswith(".py"):
                found.append((entry.path, entry.stat()))
    return found


def _enclosing_file(path: str) -> Optional[str]:
    """The nearest ancestor of ``path`` that is a regular file (a zip archive on sys.path)."""
    while path and path != os.path.dirname(path):
        if os.path.isfile(path):
            return path
        path = os.path.dirname(path)
    return None


def entry_key(object_bytes: bytes, name: str, max_entries: Mapping[str, int],
              programs: Optional[Sequence[str]], exclude: Sequence[str]) -> str:
    """The cache key of preparing ``object_bytes`` (called ``name``) with these overrides
    for the running kernel, by this installation of pybpf. Constants are not part of
    it: they are written into the `.rodata` images after (see set_constants)."""
    h = blake2b(digest_size=20)
    h.update(f"pybpf-prepared/{FORMAT}|{install_identity()}|{name}\0".encode())
    h.update(f"kernel {cachedir.file_identity(KERNEL_BTF)}\0".encode())
    h.update(blake2b(object_bytes, digest_size=20).digest())
    overrides = {"max_entries": sorted(max_entries.items()),
                 "programs": None if programs is None else list(programs),
                 "exclude": sorted(exclude)}
    h.update(json.dumps(overrides, sort_keys=True).encode())
    return h.hexdigest()


def _entry_name(key: str) -> str:
    return f"prepared-{key}.bin"


# -- the wire format -----------------------------------------------------------------------------

class _Unusable(Exception):
    """An entry that does not decode into a valid PreparedObject."""


def _to_json(value: Any, blobs: List[Any]) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        view = memoryview(value).cast("B")
        if view.nbytes > 4096 and not bytes(view).strip(b"\0"):
            return {"$z": view.nbytes}
        blobs.append(view)
        return {"$b": len(blobs) - 1}
    if isinstance(value, dict):
        return {"$d": [[_to_json(k, blobs), _to_json(v, blobs)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_to_json(v, blobs) for v in value]
    if isinstance(value, (PreparedMap, PreparedProgram)):
        return {name: _to_json(getattr(value, name), blobs) for name in fields_of(type(value))}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__}")


def encode(obj: PreparedObject) -> bytes:
    blobs: List[Any] = []
    head = {"format": FORMAT, "name": obj.name, "license": obj.license,
            "btf": _to_json(obj.btf_bytes, blobs),
            "btf_load": (None if obj.btf_load is None or obj.btf_load == obj.btf_bytes
                         else _to_json(obj.btf_load, blobs)),
            "btf_same": obj.btf_load is not None and obj.btf_load == obj.btf_bytes,
            "maps": [_to_json(m, blobs) for m in obj.maps.values()],
            "programs": [_to_json(p, blobs) for p in obj.programs.values()],
            "constants": {k: list(v) for k, v in obj.constants.items()},
            "blobs": [b.nbytes for b in blobs]}
    text = json.dumps(head, separators=(",", ":")).encode()
    return b"".join([_LEN.pack(len(text)), text] + [bytes(b) for b in blobs])


class _Reader:
    def __init__(self, body: memoryview) -> None:
        if len(body) < _LEN.size:
            raise _Unusable("short")
        (n,) = _LEN.unpack_from(body)
        try:
            self.head = json.loads(bytes(body[_LEN.size:_LEN.size + n]))
        except (ValueError, UnicodeDecodeError):
            raise _Unusable("header") from None
        if not isinstance(self.head, dict) or self.head.get("format") != FORMAT:
            raise _Unusable("format")
        sizes = self.head.get("blobs")
        if not isinstance(sizes, list) or not all(_is_int(s) and s >= 0 for s in sizes):
            raise _Unusable("blobs")
        self.blobs = []
        pos = _LEN.size + n
        for size in sizes:
            self.blobs.append(body[pos:pos + size])
            pos += size
        if pos != len(body):
            raise _Unusable("length")

    def value(self, raw: Any) -> Any:
        if isinstance(raw, dict):
            if set(raw) == {"$b"} and _is_int(raw["$b"]) and 0 <= raw["$b"] < len(self.blobs):
                return self.blobs[raw["$b"]]
            if set(raw) == {"$z"} and _is_int(raw["$z"]) and 0 < raw["$z"] <= MAX_ENTRY * 64:
                return memoryview(mmap.mmap(-1, raw["$z"]))  # zero pages until written
            if set(raw) == {"$d"} and isinstance(raw["$d"], list):
                out = {}
                for pair in raw["$d"]:
                    if not (isinstance(pair, list) and len(pair) == 2):
                        raise _Unusable("dict")
                    key = self.value(pair[0])
                    out[bytes(key) if isinstance(key, memoryview) else key] = self.value(pair[1])
                return out
            raise _Unusable("object")
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        return raw

    def record(self, cls: Any, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise _Unusable(cls.__name__)
        kwargs = {}
        for name in fields_of(cls):
            if name not in raw:
                raise _Unusable(f"{cls.__name__}.{name}")
            value = raw[name]
            if name == "inner":
                value = None if value is None else self.record(PreparedMap, value)
            else:
                value = self.value(value)
            kwargs[name] = value
        if set(raw) != set(kwargs):
            raise _Unusable(f"{cls.__name__} fields")
        return _checked(cls(**kwargs))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_BUF = (bytes, memoryview)
_MAP_TYPES: Dict[str, Any] = {"name": str, "type": int, "key_size": int, "value_size": int, "max_entries": int,
              "flags": int, "numa_node": int, "pinning": int, "map_extra": int,
              "key_type_id": int, "value_type_id": int, "btf_vmlinux_value_type_id": int,
              "contents": dict, "freeze": bool, "section": str, "kernel_name": str}
_PROG_TYPES: Dict[str, Any] = {"name": str, "section": str, "prog_type": int, "insns": _BUF, "map_slots": list,
               "expected_attach_type": int, "attach_to": str, "attach_btf_id": int,
               "license": str, "kernel_version": int, "flags": int, "func_info": _BUF,
               "line_info": _BUF, "uses_usdt_specs": bool}


def _checked(rec: Any) -> Any:
    types = _MAP_TYPES if isinstance(rec, PreparedMap) else _PROG_TYPES
    for name, want in types.items():
        value = getattr(rec, name)
        ok = _is_int(value) if want is int else isinstance(value, want)
        if not ok:
            raise _Unusable(f"{name}")
    if isinstance(rec, PreparedMap):
        if rec.data is not None and not isinstance(rec.data, _BUF):
            raise _Unusable("data")
        for k, v in rec.contents.items():
            if not isinstance(k, (int, bytes)) or not isinstance(v, (str, bytes, memoryview)):
                raise _Unusable("contents")
    else:
        if len(rec.insns) % 8 or not rec.insns:
            raise _Unusable("insns")
        slots = len(rec.insns) // 8
        for pair in rec.map_slots:
            if not (isinstance(pair, list) and len(pair) == 2 and _is_int(pair[0])
                    and 0 <= pair[0] < slots and isinstance(pair[1], str)):
                raise _Unusable("map_slots")
        rec.map_slots = [tuple(p) for p in rec.map_slots]
    return rec


def decode(body: memoryview) -> PreparedObject:
    """The PreparedObject an entry's body holds; _Unusable if anything is off."""
    r = _Reader(body)
    head = r.head
    maps = [r.record(PreparedMap, m) for m in _list(head.get("maps"))]
    progs = [r.record(PreparedProgram, p) for p in _list(head.get("programs"))]
    btf = r.value(head.get("btf"))
    if head.get("btf_same") is True:
        btf_load = btf
    else:
        btf_load = r.value(head.get("btf_load"))
    name, license_ = head.get("name"), head.get("license")
    if not (isinstance(name, str) and isinstance(license_, str)
            and all(b is None or isinstance(b, memoryview) for b in (btf, btf_load))):
        raise _Unusable("object")
    by_name = {m.name: m for m in maps}
    for p in progs:
        for _, m in p.map_slots:
            if m not in by_name:
                raise _Unusable("map reference")
    return PreparedObject(name, license_, by_name, {p.name: p for p in progs},
                          None if btf is None else bytes(btf),
                          None if btf_load is None else bytes(btf_load),
                          _constants(head.get("constants"), by_name))


def _constants(raw: Any, maps: Dict[str, PreparedMap]) -> Dict[str, Tuple[str, int, int, str]]:
    if not isinstance(raw, dict):
        raise _Unusable("constants")
    out = {}
    for name, entry in raw.items():
        if not (isinstance(entry, list) and len(entry) == 4):
            raise _Unusable("constant")
        section, offset, size, kind = entry
        image = maps[section].data if isinstance(section, str) and section in maps else None
        if (image is None or not _is_int(offset) or not _is_int(size) or offset < 0
                or size <= 0 or offset + size > len(image) or kind not in ("", "u", "s", "e", "se")):
            raise _Unusable("constant")
        out[name] = (section, offset, size, kind)
    return out


def _list(v: Any) -> List[Any]:  # Any: a JSON value, checked by the caller
    if not isinstance(v, list):
        raise _Unusable("list")
    return v


# -- the cache -----------------------------------------------------------------------------------

def load_entry(key: str) -> Optional[PreparedObject]:
    """The cached PreparedObject of ``key``; None if absent, untrusted or invalid."""
    body = cachedir.load_sealed(_entry_name(key), MAGIC, MAX_ENTRY)
    if body is None:
        return None
    try:
        return decode(body)
    except (_Unusable, ValueError, TypeError, KeyError, RecursionError, struct.error):
        return None


def store_entry(key: str, obj: PreparedObject) -> None:
    """Keep ``obj`` under ``key`` (skipped silently if the cache cannot be written)."""
    cachedir.store_sealed(_entry_name(key), MAGIC, encode(obj))


def _read_object(path: str) -> bytes:
    """The bytes of the object file at ``path``, checked as pybpf.elf.source checks it
    (a regular file, bounded) before anything is read."""
    # deferred: the checks' messages live with the ELF source; only a refusal needs them
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        fd = -1
    try:
        st = os.fstat(fd) if fd >= 0 else None
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > MAX_OBJECT_SIZE:
            from pybpf.elf.source import mapped_object
            with mapped_object(path):  # raises the one error naming the file and the problem
                pass
            raise ELFError(f"{path}: cannot read")  # pragma: no cover - it raised above
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read(st.st_size + 1)
    finally:
        if fd >= 0:
            os.close(fd)


def prepare(source: Source, *, name: Optional[str] = None,
            constants: Optional[Mapping[str, Any]] = None,
            max_entries: Optional[Mapping[str, int]] = None,
            programs: Optional[Sequence[str]] = None, exclude: Sequence[str] = (),
            btf: Any = None) -> PreparedObject:
    """The object at ``source`` (a path, or its bytes with ``name``) prepared for the
    running kernel (or for ``btf``, a BTF file or spec: then never cached) with
    ``constants`` written, maps resized (``max_entries``: name -> entries), only
    ``programs`` (default: every autoload one) and without the ``exclude``d ones."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), name or "<bytes>"
    else:
        label = name or os.fspath(source)
        data = _read_object(os.fspath(source))
    constants, max_entries = dict(constants or {}), dict(max_entries or {})
    programs = None if programs is None else list(programs)

    def build() -> PreparedObject:
        # the cold path: parsing, linking, CO-RE (pyelftools, BTF) only on a cache miss
        from pybpf.preparer import prepare_bytes
        return prepare_bytes(data, label, max_entries=max_entries, programs=programs,
                             exclude=exclude, btf=btf)

    def cold() -> PreparedObject:
        obj = build()
        obj.set_constants(constants)
        return obj

    if btf is not None or not cachedir.enabled() or not os.path.exists(KERNEL_BTF):
        return cold()
    key = entry_key(data, label, max_entries, programs, exclude)
    hit = load_entry(key)
    if hit is not None:
        hit.set_constants(constants)
        hit.rebuild = cold
        return hit
    obj = build()  # a miss: stored before its constants are written
    if obj.storable:
        store_entry(key, obj)
    obj.set_constants(constants)
    return obj
