"""Map: one BPF map, its fd, and a MutableMapping view of its elements.

Keys and values are typed when the map knows their BTF types (every map of
``pybpf.load``'s collection whose object declares them, a map opened by fd,
pin or id that was created with BTF, ``set_btf`` for any other): they decode to and encode from Python values through
``pybpf.btf.codec`` (ints, dicts by member name, lists, str for ``char[N]``,
bytes for other byte arrays). ``codec`` objects (``size``, ``decode(buf)``,
``encode(value)``) may also be given explicitly. Without types, keys and
values are ``bytes``; ints are accepted on input for 4- and 8-byte
keys/values, and fd-owning objects (Map, Program, FD) for the fd-valued map
types (prog/map-in-map/perf event arrays). ``bytes`` input is always taken as
the raw element, and ``Map.raw`` is the same map without decoding. Per-CPU
maps take and return a list with one value per possible CPU.
"""
from __future__ import annotations

import errno
import os
import sys
from collections.abc import ItemsView, MutableMapping, ValuesView

from pybpf.errors import ENOTSUPP, SyscallError, syscall_error
from pybpf.sys import commands as cmds
from pybpf.sys.cpus import num_possible_cpus
from pybpf.sys.fd import FD
from pybpf.sys.info import MapInfo, btf_info, map_info
from pybpf.sys.owner import FDOwner
from pybpf.uapi import (
    BPF_ANY,
    FD_MAP_TYPES,
    PERCPU_MAP_TYPES,
    bpf_map_type,
    name_of,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, List, Optional, Protocol, Tuple, Union

    from pybpf.btf import Spec
    FDLike = Union[FD, int]

    class ValueCodec(Protocol):
        """What turns keys or values into bytes and back: a ``pybpf.btf.codec.Codec``, or
        any object with these two methods (and a ``size``, checked when it has one).
        Keys and values are ``Any`` throughout this module: their Python type is the
        codec's choice (bytes without one)."""

        def encode(self, value: Any) -> bytes: ...

        def decode(self, buf: Any) -> Any: ...

    Codec = Optional[ValueCodec]

_BYTES = (bytes, bytearray, memoryview)
_NO_BATCH = (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP)
_MAX_RESTARTS = 64
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _round8(n: int) -> int:
    return (n + 7) & ~7


def _ringbuf_size(n: int) -> int:
    """The smallest power-of-two multiple of the page size >= n (what ringbufs require)."""
    size = PAGE_SIZE
    while size < n:
        size <<= 1
    return size


def effective_max_entries(map_type: int, max_entries: int) -> int:
    """max_entries as Map.create passes it: perf event arrays default to one slot per
    possible CPU, ring buffers round up to a power-of-two multiple of the page size."""
    if map_type == bpf_map_type.PERF_EVENT_ARRAY and not max_entries:
        return num_possible_cpus()
    if map_type in (bpf_map_type.RINGBUF, bpf_map_type.USER_RINGBUF):
        return _ringbuf_size(max_entries)
    return max_entries


def _check_codec(name: str, codec: Codec, size: int, what: str) -> None:
    codec_size = getattr(codec, "size", size)
    if codec_size != size:
        raise ValueError(f"map {name!r}: {what} codec is {codec_size} bytes, "
                         f"the map's {what} is {size}")


def _fd_of(obj: object) -> Optional[int]:
    if isinstance(obj, int) and not isinstance(obj, bool):
        return obj
    if isinstance(obj, FD):
        return obj.fileno()
    fileno = getattr(obj, "fileno", None)
    return fileno() if callable(fileno) else None


class Map(FDOwner, MutableMapping["Any", "Any"]):  # keys and values: the codecs' types
    """A kernel map. Owns ``fd``; ``close()`` or ``with`` releases it."""

    def __init__(self, fd: FD, name: str, type: int, key_size: int, value_size: int,
                 max_entries: int, flags: int = 0, key_codec: Codec = None,
                 value_codec: Codec = None, info: Optional[MapInfo] = None) -> None:
        self.fd = fd
        self.name = name
        self.type = type
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.flags = flags
        self._key_codec = key_codec
        self._value_codec = value_codec
        # (BTF, key type id, value type id) until codecs are built
        self._types: Optional[Tuple[Union[Spec, Callable[[], Optional[Spec]]], int, int]] = None
        self._raw: Optional[Map] = None
        self.pinned: Optional[str] = None
        self._info = info
        self.percpu = type in PERCPU_MAP_TYPES
        self.ncpus = num_possible_cpus() if self.percpu else 1
        self._stride = _round8(value_size) if self.percpu else value_size
        try:
            _check_codec(name, key_codec, key_size, "key")
            _check_codec(name, value_codec, value_size, "value")
        except ValueError:
            fd.close()
            raise

    # ------------------------------------------------------------ creation

    @classmethod
    def create(cls, spec: Any, btf_fd: Optional[FDLike] = None,
               inner_map_fd: Optional[object] = None, key_codec: Codec = None,
               value_codec: Codec = None) -> "Map":
        """Create a map from a MapSpec-like object (``Any``: read by attribute, optional ones
        with getattr, so a MapSpec, a SimpleNamespace or a record of one's own all do).

        ``spec`` needs name, type, key_size, value_size, max_entries and may have
        flags, numa_node, map_extra, key_type_id, value_type_id,
        btf_vmlinux_value_type_id and inner (a spec for map-in-map templates).
        BTF type ids are passed only with ``btf_fd``; if the kernel refuses the map
        with BTF, creation is retried without it (as libbpf does).
        """
        name = getattr(spec, "name", "") or ""
        mtype = int(spec.type)
        _check_codec(name, key_codec, int(spec.key_size), "key")
        _check_codec(name, value_codec, int(spec.value_size), "value")
        max_entries = effective_max_entries(mtype, int(spec.max_entries))
        flags = int(getattr(spec, "flags", 0) or 0)
        key_type_id = int(getattr(spec, "key_type_id", 0) or 0) if btf_fd is not None else 0
        value_type_id = int(getattr(spec, "value_type_id", 0) or 0) if btf_fd is not None else 0

        def map_create(inner: Optional[int], with_btf: bool) -> FD:
            return cmds.map_create(
                mtype, int(spec.key_size), int(spec.value_size), max_entries, flags=flags,
                name=name, inner_map_fd=inner, numa_node=int(getattr(spec, "numa_node", 0) or 0),
                map_extra=int(getattr(spec, "map_extra", 0) or 0),
                # struct_ops: the value type id is in vmlinux BTF and needs no btf_fd
                btf_vmlinux_value_type_id=int(getattr(spec, "btf_vmlinux_value_type_id", 0) or 0),
                btf_fd=btf_fd if with_btf else None,
                btf_key_type_id=key_type_id if with_btf else 0,
                btf_value_type_id=value_type_id if with_btf else 0)

        template: Optional[Map] = None
        inner_spec = getattr(spec, "inner", None)
        if inner_map_fd is None and inner_spec is not None:
            template = cls.create(inner_spec, btf_fd=btf_fd)
            inner_map_fd = template
        try:
            inner = _fd_of(inner_map_fd) if inner_map_fd is not None else None
            try:
                fd = map_create(inner, with_btf=btf_fd is not None)
            except SyscallError as exc:
                if btf_fd is None or exc.errno == errno.EPERM or not (key_type_id or value_type_id):
                    raise
                # some kernels/map types refuse BTF key/value info: drop it
                fd = map_create(inner, with_btf=False)
        finally:
            if template is not None:
                template.close()
        return cls(fd, name, mtype, int(spec.key_size), int(spec.value_size), max_entries,
                   flags, key_codec, value_codec)

    @classmethod
    def new(cls, type: int, key_size: int, value_size: int, max_entries: int, *,
            name: str = "", flags: int = 0, inner_map_fd: Optional[object] = None,
            numa_node: int = 0, map_extra: int = 0, key_codec: Codec = None,
            value_codec: Codec = None) -> "Map":
        """Create a map from keyword arguments (no BTF)."""
        spec = _Spec(name=name, type=type, key_size=key_size, value_size=value_size,
                     max_entries=max_entries, flags=flags, numa_node=numa_node,
                     map_extra=map_extra)
        return cls.create(spec, inner_map_fd=inner_map_fd, key_codec=key_codec,
                          value_codec=value_codec)

    @classmethod
    def from_fd(cls, fd: FDLike, key_codec: Codec = None, value_codec: Codec = None) -> "Map":
        """Take ownership of a map fd; shape and name come from map_info, key and
        value types from the BTF the map was created with (if any)."""
        owned = fd if isinstance(fd, FD) else FD(fd)
        try:
            info = map_info(owned)
        except BaseException:
            owned.close()
            raise
        m = cls(owned, info.name, info.type, info.key_size, info.value_size,
                info.max_entries, info.map_flags, key_codec, value_codec, info)
        if info.btf_id:  # typed by the BTF the map was created with, fetched on first use
            m.set_btf(_KernelBTF(info.btf_id), info.btf_key_type_id, info.btf_value_type_id)
        return m

    @classmethod
    def from_pin(cls, path: Union[str, "os.PathLike[str]"], flags: int = 0, key_codec: Codec = None,
                 value_codec: Codec = None) -> "Map":
        """Open the map pinned at ``path`` (flags BPF_F_RDONLY / BPF_F_WRONLY)."""
        m = cls.from_fd(cmds.obj_get(path, flags), key_codec, value_codec)
        m.pinned = os.fspath(path)
        return m

    @classmethod
    def from_id(cls, map_id: int, key_codec: Codec = None, value_codec: Codec = None) -> "Map":
        """Open the map with kernel id ``map_id``."""
        return cls.from_fd(cmds.map_get_fd_by_id(map_id), key_codec, value_codec)

    def incompatibilities(self, spec: Any) -> List[str]:
        """How this (e.g. pinned) map differs from what ``spec`` would create; [] if reusable.

        Compares type, key/value sizes, max_entries (after the adjustments
        Map.create makes) and flags, as libbpf does before reusing a pin.
        """
        mtype = int(spec.type)
        want = (mtype, int(spec.key_size), int(spec.value_size),
                effective_max_entries(mtype, int(spec.max_entries)),
                int(getattr(spec, "flags", 0) or 0))
        have = (self.type, self.key_size, self.value_size, self.max_entries, self.flags)
        fields = ("type", "key_size", "value_size", "max_entries", "flags")
        return [f"{f} {h} != {w}" for f, h, w in zip(fields, have, want) if h != w]

    # ------------------------------------------------------------ types

    def set_btf(self, btf: Union[Spec, Callable[[], Optional[Spec]]], key_type_id: int,
                value_type_id: int) -> None:
        """Type keys and values as ``btf`` (a ``pybpf.btf.Spec``, or a function returning
        one or None, called on first use) types these ids
        (0: leave that side as it is). Codecs are built on first use; a type whose
        size differs from the map's, that the codec cannot lay out, or the value
        of an fd-valued map stays bytes. Explicit codecs are kept. Replaces the
        types a map opened by fd, pin or id took from the kernel's copy of its BTF."""
        if self.type in FD_MAP_TYPES:
            value_type_id = 0
        if key_type_id or value_type_id:
            self._types = (btf, key_type_id, value_type_id)

    def _build_codecs(self) -> None:
        if self._types is None:
            return
        source, key_type_id, value_type_id = self._types
        self._types = None
        btf = source() if callable(source) else source  # a function: parsed on first use
        if btf is None:
            return
        if self._key_codec is None:
            self._key_codec = _btf_codec(btf, key_type_id, self.key_size)
        if self._value_codec is None:
            self._value_codec = _btf_codec(btf, value_type_id, self.value_size)

    @property
    def key_codec(self) -> Codec:
        """What decodes and encodes keys (None: bytes)."""
        if self._types is not None:
            self._build_codecs()
        return self._key_codec

    @key_codec.setter
    def key_codec(self, codec: Codec) -> None:
        _check_codec(self.name, codec, self.key_size, "key")
        self._key_codec = codec

    @property
    def value_codec(self) -> Codec:
        """What decodes and encodes values, one CPU's for per-CPU maps (None: bytes)."""
        if self._types is not None:
            self._build_codecs()
        return self._value_codec

    @value_codec.setter
    def value_codec(self, codec: Codec) -> None:
        _check_codec(self.name, codec, self.value_size, "value")
        self._value_codec = codec

    @property
    def raw(self) -> "Map":
        """This map with bytes keys and values (no decoding). It shares this map's
        fd: closing this map closes it, closing the view does nothing."""
        if self._raw is None:
            view = _RawMap.__new__(_RawMap)
            view.__dict__.update(self.__dict__)
            view._key_codec = view._value_codec = view._types = None
            view._raw = view
            self._raw = view
        return self._raw

    # ------------------------------------------------------------ kernel facts

    def info(self, refresh: bool = False) -> MapInfo:
        if self._info is None or refresh:
            self._info = map_info(self.fd)
        return self._info

    @property
    def id(self) -> int:
        return self.info().id

    # ------------------------------------------------------------ encoding

    def _encode(self, obj: Any, size: int, codec: Codec, what: str) -> bytes:
        if isinstance(obj, _BYTES):
            raw = bytes(obj)
        elif codec is not None:
            raw = codec.encode(obj)
        elif isinstance(obj, int) and not isinstance(obj, bool) and size in (4, 8):
            try:
                raw = obj.to_bytes(size, sys.byteorder, signed=obj < 0)
            except OverflowError:
                raise ValueError(f"map {self.name!r}: {what} {obj} does not fit in "
                                 f"{size} bytes") from None
        elif self.type in FD_MAP_TYPES and size in (4, 8) and (fd := _fd_of(obj)) is not None:
            raw = fd.to_bytes(size, sys.byteorder)
        else:
            raise TypeError(f"map {self.name!r}: cannot use {type(obj).__name__} as a {what} "
                            f"of {size} bytes (give bytes, or an int for 4/8-byte {what}s)")
        if len(raw) != size:
            raise ValueError(f"map {self.name!r}: {what} is {len(raw)} bytes, expected {size}")
        return raw

    def _key(self, key: Any) -> Optional[bytes]:
        if self.key_size == 0:
            if key is not None:
                raise ValueError(f"map {self.name!r} has no keys; pass None")
            return None
        return self._encode(key, self.key_size, self.key_codec, "key")

    def _value(self, value: Any) -> bytes:
        if not self.percpu:
            return self._encode(value, self.value_size, self.value_codec, "value")
        if not isinstance(value, (list, tuple)) or len(value) != self.ncpus:
            raise ValueError(f"per-CPU map {self.name!r}: value must be a list of "
                             f"{self.ncpus} values, one per possible CPU")
        pad = b"\0" * (self._stride - self.value_size)
        return b"".join(self._encode(v, self.value_size, self.value_codec, "value") + pad
                        for v in value)

    def _decode_key(self, raw: bytes) -> Any:
        codec = self.key_codec
        return codec.decode(raw) if codec is not None else raw

    def _decode_value(self, raw: Union[bytes, bytearray, memoryview]) -> Any:
        codec = self.value_codec
        if not self.percpu:
            raw = bytes(raw)
            return codec.decode(raw) if codec is not None else raw
        stride, size = self._stride, self.value_size
        slots = [bytes(raw[cpu * stride: cpu * stride + size]) for cpu in range(self.ncpus)]
        return [codec.decode(slot) for slot in slots] if codec is not None else slots

    @property
    def _value_buf_size(self) -> int:
        return self._stride * self.ncpus

    def _detail(self) -> str:
        return f"map {self.name!r}"

    # ------------------------------------------------------------ element operations

    def lookup(self, key: Any = None, flags: int = 0) -> Any:
        """The value of ``key``, or None when absent (key None: peek a queue/stack)."""
        buf = bytearray(self._value_buf_size)
        if not cmds.map_lookup_elem(self.fd, self._key(key), buf, flags, self._detail()):
            return None
        return self._decode_value(buf)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """``update(key, value, flags=BPF_ANY)`` writes one element; ``update(mapping)``
        or ``update(pairs)`` writes many, as dict.update does."""
        if len(args) >= 2 or "value" in kwargs:
            self._update_elem(*args, **kwargs)
        else:
            super().update(*args, **kwargs)

    def _update_elem(self, key: Any, value: Any, flags: int = BPF_ANY) -> None:
        cmds.map_update_elem(self.fd, self._key(key), self._value(value), flags, self._detail())

    def delete(self, key: Any) -> bool:
        """Delete ``key``; False when it was absent."""
        return cmds.map_delete_elem(self.fd, self._key(key), self._detail())

    def lookup_and_delete(self, key: Any = None, flags: int = 0) -> Any:
        """Pop ``key`` (None: pop a queue/stack); None when absent."""
        buf = bytearray(self._value_buf_size)
        if not cmds.map_lookup_and_delete_elem(self.fd, self._key(key), buf, flags,
                                               self._detail()):
            return None
        return self._decode_value(buf)

    def __getitem__(self, key: Any) -> Any:
        value = self.lookup(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        self._update_elem(key, value)

    def __delitem__(self, key: Any) -> None:
        if not self.delete(key):
            raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        return self.lookup(key) is not None

    def clear(self) -> None:
        """Delete every element (one delete per key; keys already gone are skipped)."""
        for raw in list(self.iter_raw_keys()):
            cmds.map_delete_elem(self.fd, raw, self._detail())

    # ------------------------------------------------------------ iteration

    def iter_raw_keys(self) -> Iterator[bytes]:
        """Raw keys in kernel order, surviving concurrent deletes.

        When the cursor key is deleted under us, the kernel restarts from the
        first key; keys already yielded are skipped, so each key is yielded at
        most once. Gives up with BusyError after 64 restarts.
        """
        seen = set()
        cursor: Optional[bytes] = None
        out = bytearray(self.key_size)
        restarts = 0
        fresh = True
        while cmds.map_get_next_key(self.fd, cursor, out, self._detail()):
            key = bytes(out)
            cursor = key
            if key in seen:
                if fresh:
                    restarts += 1
                    if restarts > _MAX_RESTARTS:
                        raise syscall_error("BPF_MAP_GET_NEXT_KEY", errno.EAGAIN,
                                            f"{self._detail()}: iteration restarted "
                                            f"{_MAX_RESTARTS} times by concurrent deletes")
                fresh = False
                continue
            fresh = True
            seen.add(key)
            yield key

    def __iter__(self) -> Iterator[Any]:
        for raw in self.iter_raw_keys():
            yield self._decode_key(raw)

    def iter_items(self) -> Iterator[Tuple[Any, Any]]:
        """(key, value) pairs, each key once, skipping keys deleted while iterating.

        Reads 256 elements per BPF_MAP_LOOKUP_BATCH where the kernel supports
        it for this map type, else one BPF_MAP_GET_NEXT_KEY + lookup per key.
        """
        batches = self._iter_batch(256, False)
        try:
            first = next(batches)
        except StopIteration:
            return
        except _BatchUnsupported:
            yield from self._iter_items_each()
            return
        yield first
        yield from batches

    def _iter_items_each(self) -> Iterator[Tuple[Any, Any]]:
        buf = bytearray(self._value_buf_size)
        for raw in self.iter_raw_keys():
            if cmds.map_lookup_elem(self.fd, raw, buf, 0, self._detail()):
                yield self._decode_key(raw), self._decode_value(buf)

    def items(self) -> "_ItemsView":
        return _ItemsView(self)

    def values(self) -> "_ValuesView":
        return _ValuesView(self)

    def __len__(self) -> int:
        return sum(1 for _ in self.iter_items())

    # ------------------------------------------------------------ batch operations

    def _iter_batch(self, batch_size: int, delete: bool) -> Iterator[Tuple[Any, Any]]:
        """Elements through BPF_MAP_LOOKUP(_AND_DELETE)_BATCH; raises _BatchUnsupported
        from the first call when the kernel has no batch op for this map type."""
        count = max(1, batch_size)
        token_size = max(self.key_size, 8)
        in_batch: Optional[bytes] = None
        ks, vs = self.key_size, self._value_buf_size
        while True:
            keys = bytearray(ks * count)
            values = bytearray(vs * count)
            out_batch = bytearray(token_size)
            try:
                n, done = cmds.map_lookup_batch(self.fd, in_batch, out_batch, keys, values,
                                                count, 0, self._detail(), delete=delete)
            except SyscallError as exc:
                if exc.errno == errno.ENOSPC:
                    count *= 2  # one hash bucket holds more than count elements
                    continue
                if exc.errno in _NO_BATCH and in_batch is None:
                    raise _BatchUnsupported() from None
                raise
            # BTF codecs decode straight from the batch buffers (no per-element copy)
            key_at = getattr(self.key_codec, "decode_from", None)
            value_at = None if self.percpu else getattr(self.value_codec, "decode_from", None)
            for i in range(n):
                key = (key_at(keys, i * ks) if key_at is not None
                       else self._decode_key(bytes(keys[i * ks:(i + 1) * ks])))
                yield key, (value_at(values, i * vs) if value_at is not None
                            else self._decode_value(values[i * vs:(i + 1) * vs]))
            if done:
                return
            in_batch = bytes(out_batch)

    def lookup_batch(self, batch_size: int = 256, delete: bool = False) -> List[Tuple[Any, Any]]:
        """All elements through BPF_MAP_LOOKUP_BATCH (``delete=True``: and delete them).

        Falls back to per-element operations where the kernel lacks batch
        support for this map type.
        """
        try:
            return list(self._iter_batch(batch_size, delete))
        except _BatchUnsupported:
            return self._lookup_each(delete)

    def lookup_and_delete_batch(self, batch_size: int = 256) -> List[Tuple[Any, Any]]:
        """Drain the map: every element, each deleted as it is read."""
        return self.lookup_batch(batch_size, delete=True)

    def _lookup_each(self, delete: bool) -> List[Tuple[Any, Any]]:
        if not delete:
            return list(self._iter_items_each())
        out = []
        for raw in list(self.iter_raw_keys()):
            value = self.lookup_and_delete(self._decode_key(raw))
            if value is not None:
                out.append((self._decode_key(raw), value))
        return out

    def update_batch(self, items: Union[Iterable[Tuple[Any, Any]], "MutableMapping[Any, Any]"],
                     flags: int = BPF_ANY) -> int:
        """Write many elements with one BPF_MAP_UPDATE_BATCH; returns how many."""
        pairs = list(items.items() if hasattr(items, "items") else items)
        if not pairs:
            return 0
        keys = b"".join(self._key(k) or b"" for k, _ in pairs)
        values = b"".join(self._value(v) for _, v in pairs)
        try:
            return cmds.map_update_batch(self.fd, keys, values, len(pairs), flags,
                                         self._detail())
        except SyscallError as exc:
            if exc.errno not in _NO_BATCH:
                raise
        for k, v in pairs:
            self._update_elem(k, v, flags)
        return len(pairs)

    def delete_batch(self, keys: Iterable[Any]) -> int:
        """Delete many keys with one BPF_MAP_DELETE_BATCH; returns how many."""
        raw = [self._key(k) or b"" for k in keys]
        if not raw:
            return 0
        try:
            return cmds.map_delete_batch(self.fd, b"".join(raw), len(raw), 0, self._detail())
        except SyscallError as exc:
            if exc.errno not in _NO_BATCH:
                raise
        return sum(1 for k in raw if cmds.map_delete_elem(self.fd, k, self._detail()))

    # ------------------------------------------------------------ object operations

    def freeze(self) -> None:
        """Make the map read-only for user space (programs can still write unless RDONLY_PROG)."""
        cmds.map_freeze(self.fd, self._detail())

    def __repr__(self) -> str:
        kind = name_of(bpf_map_type, self.type)
        return f"Map({self.name!r}, {kind}, {self._fd_state()})"

    # identity semantics: two Map objects are equal only if they are the same object
    __eq__ = object.__eq__
    __hash__ = object.__hash__


class _RawMap(Map):
    """``Map.raw``: the same kernel map, elements as bytes, not owning the fd."""

    def close(self) -> None:
        """The view does not own the fd; close the map it came from."""

    def __repr__(self) -> str:
        return "raw " + super().__repr__()


class _KernelBTF:
    """The kernel's copy of the BTF object ``btf_id`` (a map's types), read when needed."""

    def __init__(self, btf_id: int) -> None:
        self.btf_id = btf_id

    def __call__(self) -> Optional[Spec]:
        """The parsed BTF; None when it cannot be read or parsed (the map stays bytes)."""
        from pybpf.btf import Spec
        from pybpf.errors import BPFError

        try:
            with cmds.btf_get_fd_by_id(self.btf_id) as fd:
                data = btf_info(fd, data=True).data
            return Spec.from_bytes(data, name=f"BTF id {self.btf_id}") if data else None
        except BPFError:
            return None


def _btf_codec(btf: Spec, type_id: int, size: int) -> Codec:
    """The codec of ``type_id`` if it lays out ``size`` bytes; None otherwise."""
    if not type_id:
        return None
    from pybpf.btf.codec import Codec  # deferred: untyped maps never need it (import cost)
    from pybpf.errors import BTFError

    try:
        codec = Codec.for_type(btf, type_id)
    except BTFError:
        return None
    return codec if codec.size == size else None


class _BatchUnsupported(Exception):
    """The kernel has no batch lookup for this map type (raised before any element)."""


class _ItemsView(ItemsView["Any", "Any"]):
    _mapping: Map

    def __iter__(self) -> Iterator[Tuple[Any, Any]]:
        return self._mapping.iter_items()


class _ValuesView(ValuesView["Any"]):
    _mapping: Map

    def __iter__(self) -> Iterator[Any]:
        for _, value in self._mapping.iter_items():
            yield value


class _Spec:
    """The minimal MapSpec-like record behind ``Map.new``."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


__all__ = ["Map", "PAGE_SIZE", "effective_max_entries"]
