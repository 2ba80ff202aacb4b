"""Spec: a lazily decoded BTF blob (vmlinux, module, or an object's .BTF).

Opening a Spec validates the header, copies the string table and makes one
pass over the type section recording where each type starts (an
``array('I')`` of word positions) and its name offset (packed u32s). The
pass does a few operations per type: the kind byte of every word is sliced
out and translated to a record length in C, so only the vlen-sized kinds do
arithmetic. Nothing else is decoded until asked: ``spec[id]`` decodes one
type and caches it. ``ids_by_name`` finds every offset of the name in the
string table (bytes.find; a name may be the tail of a longer string), keeps
those some type uses, and finds them in the packed name offsets;
``ids_by_names`` does the same for many names at once, with one regular
expression over the reversed string table and one walk of the name offsets.

Split BTF (a kernel module's BTF on top of vmlinux) continues the base's
type ids and string offsets; ``spec[id]`` and ``string(off)`` forward to the
base below its first id/offset.
"""
from __future__ import annotations

import mmap
import os
import re
import struct
import sys
from array import array
from itertools import compress
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple, TypeVar
from typing import Type as TType
from typing import Union as TUnion

from ..errors import BTFError
from .types import (
    BTF_MAGIC,
    BTF_MAX_NAME_OFFSET,
    BTF_MAX_TYPE,
    BTF_VERSION,
    QUALIFIER_KINDS,
    Array,
    Kind,
    Type,
    Void,
)
from .wire import (
    FIXED_WORDS,
    HEADER,
    HEADER_BE,
    HEADER_LEN,
    KIND_MAX,
    VLEN_WORDS,
    decode_type,
    encode_to_bytes,
    words_to_bytes,
)

T = TypeVar("T", bound=Type)
Words = TUnion[memoryview, "array[int]"]  # the type section as u32 words: a view, or a swapped copy

_VOID = Void()


def _step_tables() -> Tuple[bytes, Tuple[int, ...]]:
    """Indexed by a type's top info byte (kind_flag and kind): the words of a whole record
    of a fixed-size kind (as a bytes.translate table), the words per vlen entry of the
    other kinds; 0 in both for kind 0 (UNKN) and unknown kinds."""
    fixed = bytearray(256)
    per = [0] * 256
    for top in range(256):
        kind = top & 0x1F
        if not 0 < kind <= KIND_MAX:
            continue
        if VLEN_WORDS[kind]:
            per[top] = VLEN_WORDS[kind]
        else:
            fixed[top] = 3 + FIXED_WORDS[kind]
    return bytes(fixed), tuple(per)


_FIXED_STEP, _VLEN_STEP = _step_tables()
# ids_by_names searches names one by one below this many (a batch scan has a fixed cost)
_BATCH_MIN = 4
_NATIVE_LITTLE = sys.byteorder == "little"
POINTER_SIZE = 8

# Kinds size_of() looks through to the type they reference.
_SIZE_THROUGH = QUALIFIER_KINDS | {Kind.VAR, Kind.DECL_TAG}
_SIZED_KINDS = frozenset({Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64,
                          Kind.DATASEC, Kind.FLOAT})

BytesLike = TUnion[bytes, bytearray, memoryview, mmap.mmap]


class Spec:
    """A BTF blob: types by id, names, sizes; re-marshal with ``to_bytes()``."""

    _str_total: int  # base's string bytes + ours (set by _parse)

    def __init__(self, data: BytesLike, base: Optional["Spec"] = None, name: str = "",
                 index: Optional[Tuple[bytes, bytes]] = None) -> None:
        self.name = name or "BTF"
        self.base = base
        self._keep = data  # keeps an mmap alive while the words view uses it
        self._cache: Dict[int, Type] = {}
        self._overrides: Dict[int, Type] = {}
        self._appended: List[Type] = []
        self._name_offs = b""  # packed u32 name_off of each own type (filled by the index)
        self._name_set: Optional[FrozenSet[int]] = None  # the distinct name offsets
        self._by_name: Dict[str, List[int]] = {}
        self.index_adopted = False  # True when ``index`` was taken instead of a pass
        self._parse(memoryview(data).cast("B"), index)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: BytesLike, base: Optional["Spec"] = None, name: str = "",
                   index: Optional[Tuple[bytes, bytes]] = None) -> "Spec":
        """Parse a BTF blob (bytes, memoryview or mmap); raises BTFError if malformed.

        ``index``: as for ``load_file``."""
        return cls(data, base, name, index)

    @classmethod
    def load_file(cls, path: TUnion[str, "os.PathLike[str]"], base: Optional["Spec"] = None,
                  index: Optional[Tuple[bytes, bytes]] = None) -> "Spec":
        """Map a raw BTF file (``/sys/kernel/btf/vmlinux``) privately and parse it.

        ``index``: what ``index_bytes()`` gave for this very file earlier (a cache);
        it replaces the pass over the types when it fits the file, else is ignored.
        """
        path = os.fspath(path)
        with open(path, "rb") as fh:
            try:
                data: BytesLike = mmap.mmap(fh.fileno(), 0, flags=mmap.MAP_PRIVATE,
                                            prot=mmap.PROT_READ)
            except (ValueError, OSError):  # empty file, or a file system without mmap
                data = fh.read()
        return cls(data, base, path, index)

    def _fail(self, msg: str) -> BTFError:
        return BTFError(f"{self.name}: {msg}")

    def _parse(self, mv: memoryview, index: Optional[Tuple[bytes, bytes]] = None) -> None:
        size = len(mv)
        if size < HEADER_LEN:
            raise self._fail(f"{size} bytes is too short for a BTF header")
        magic = mv[0] | (mv[1] << 8)
        if magic == BTF_MAGIC:
            little = True
            hdr = HEADER.unpack_from(mv)
        elif magic == ((BTF_MAGIC >> 8) | ((BTF_MAGIC & 0xFF) << 8)):
            little = False
            hdr = HEADER_BE.unpack_from(mv)
        else:
            raise self._fail(f"bad magic 0x{magic:04x} at offset 0 (want 0x{BTF_MAGIC:04x})")
        _, version, _flags, hdr_len, type_off, type_len, str_off, str_len = hdr
        if version != BTF_VERSION:
            raise self._fail(f"unsupported BTF version {version} at offset 2")
        if hdr_len < HEADER_LEN or hdr_len > size:
            raise self._fail(f"header length {hdr_len} at offset 4 is outside 24..{size}")
        if any(mv[HEADER_LEN:hdr_len]):
            raise self._fail("unknown non-zero fields in the header tail")
        body = size - hdr_len
        if type_off + type_len > body:
            raise self._fail(f"type section {type_off}+{type_len} runs past the end "
                             f"({body} bytes after the header)")
        if str_off + str_len > body:
            raise self._fail(f"string section {str_off}+{str_len} runs past the end "
                             f"({body} bytes after the header)")
        if type_off % 4 or type_len % 4:
            raise self._fail(f"type section offset {type_off} / length {type_len} "
                             f"not 4-byte aligned")
        if type_off < str_off + str_len and str_off < type_off + type_len:
            raise self._fail("type and string sections overlap")

        self._base_str_len = self.base._str_total if self.base is not None else 0
        self._first_id = self.base.type_count if self.base is not None else 1
        start = hdr_len + str_off
        strs = bytes(mv[start:start + str_len])
        if self.base is None and (not strs or strs[0] != 0):
            raise self._fail("string section must start with an empty string")
        if strs and strs[-1] != 0:
            raise self._fail(f"string section does not end with NUL "
                             f"(offset {hdr_len + str_off + str_len - 1})")
        if self._base_str_len + len(strs) > BTF_MAX_NAME_OFFSET + 1:
            raise self._fail(f"string section of {len(strs)} bytes is too large")
        self._strs = strs
        self._str_total = self._base_str_len + len(strs)

        start = hdr_len + type_off
        raw = mv[start:start + type_len]
        words: Words  # a view of the blob, or a swapped copy
        if little == _NATIVE_LITTLE:
            words = raw.cast("I")
        else:
            words = array("I", raw.tobytes())
            words.byteswap()
        self._words = words
        self._type_start = start
        adopted = self._adopt_index(words, index) if index is not None else None
        self.index_adopted = adopted is not None
        self._offsets: "array[int]" = adopted if adopted is not None else self._index(words)
        if self._first_id + len(self._offsets) - 1 > BTF_MAX_TYPE:
            raise self._fail(f"{len(self._offsets)} types exceed the maximum type id "
                             f"{BTF_MAX_TYPE}")

    def _index(self, words: Words) -> "array[int]":
        """Word position of every type record: one pass, a few operations per record.

        The kind byte of every word (the top byte of the word after it) is
        sliced out and translated to a step in C; the loop only adds steps,
        except for the kinds whose length depends on vlen.
        """
        offsets = array("I")
        names = array("I")
        self._name_offs = b""
        n = len(words)
        if not n:
            return offsets
        append = offsets.append
        append_name = names.append
        top = self._kind_bytes(words)
        steps = top.translate(_FIXED_STEP)
        per = _VLEN_STEP
        pos = 0
        try:
            while pos < n:
                append(pos)
                append_name(words[pos])
                step = steps[pos]
                if step:
                    pos += step
                else:  # vlen-sized kinds, or an unknown kind (per[...] is 0: caught below)
                    step = per[top[pos]]
                    if not step:
                        break
                    pos += 3 + step * (words[pos + 1] & 0xFFFF)
        except IndexError:  # a truncated record header
            pos = -1
        if pos != n:
            last = offsets[-1]
            type_id = len(offsets) - 1 + self._first_id
            at = self._type_start + 4 * last
            kind = (words[last + 1] >> 24) & 0x1F if last + 1 < n else 1
            if not 0 < kind <= KIND_MAX:
                raise self._fail(f"type id {type_id} at offset {at}: unknown kind {kind}")
            raise self._fail(f"type id {type_id} at offset {at} runs past the end of the "
                             f"type section")
        self._name_offs = names.tobytes()
        return offsets

    def _adopt_index(self, words: Words, index: Tuple[bytes, bytes]) -> "Optional[array[int]]":
        """The offsets of a saved index if it plausibly belongs to ``words``, else None.

        The caller vouches for the whole index (pybpf.core.cache keys it by the file's
        identity and seals every record with a keyed MAC, in a directory only this user
        can write); this catches a mix-up: counts, first and last record must fit.
        """
        packed_offsets, names = index
        n = len(words)
        if not n or len(packed_offsets) != len(names) or not packed_offsets \
                or len(packed_offsets) % 4:
            return None
        offsets = array("I")
        offsets.frombytes(packed_offsets)
        last = offsets[-1]
        if offsets[0] != 0 or last + 2 >= n:
            return None
        info = words[last + 1]
        top = info >> 24
        step = _FIXED_STEP[top] or 3 + _VLEN_STEP[top] * (info & 0xFFFF)
        if not (_FIXED_STEP[top] or _VLEN_STEP[top]) or last + step != n:
            return None
        if names[:4] != struct.pack("=I", words[0]) or names[-4:] != struct.pack("=I", words[last]):
            return None
        self._name_offs = bytes(names)
        return offsets

    def index_bytes(self) -> Tuple[bytes, bytes]:
        """The pass's result (word offsets, name offsets; native u32s) to save for a later
        ``load_file(..., index=...)`` of the same file."""
        return self._offsets.tobytes(), self._name_offs

    def _kind_bytes(self, words: Words) -> bytes:
        """Byte i: the top byte (kind_flag and kind) of word i + 1, 0 past the end."""
        if isinstance(words, memoryview) and _NATIVE_LITTLE:
            data = self._keep
            if isinstance(data, (bytes, bytearray, mmap.mmap)):  # a strided slice in C
                start = self._type_start
                return data[start + 7:start + 4 * len(words):4] + b"\0"
            # a strided memoryview copies byte by byte; copying, then slicing bytes, is faster
            return words.cast("B").tobytes()[7::4] + b"\0"
        return bytes((w >> 24) & 0xFF for w in words[1:]) + b"\0"

    # -- strings ------------------------------------------------------------------------

    @property
    def string_table(self) -> bytes:
        """This blob's own string table (NUL-separated; a split spec's offsets into it
        start after the base's)."""
        return self._strs

    def string(self, off: int) -> str:
        """The NUL-terminated string at ``off`` (invalid UTF-8 kept as surrogate escapes)."""
        if off < self._base_str_len:
            return self.base.string(off)  # type: ignore[union-attr]
        local = off - self._base_str_len
        strs = self._strs
        if local >= len(strs):
            raise self._fail(f"string offset {off} out of range (string table has "
                             f"{self._str_total} bytes)")
        return strs[local:strs.index(0, local)].decode("utf-8", "surrogateescape")

    # -- types --------------------------------------------------------------------------

    @property
    def type_count(self) -> int:
        """One past the largest type id (ids of the base included, void is id 0)."""
        return self._first_id + len(self._offsets) + len(self._appended)

    @property
    def first_id(self) -> int:
        """The first type id this blob defines (1, or the base's type_count for split BTF)."""
        return self._first_id

    def iter_ids(self) -> Iterator[int]:
        """Every type id from 1 (the base's too, for split BTF)."""
        return iter(range(1, self.type_count))

    def __len__(self) -> int:
        return self.type_count

    def __contains__(self, type_id: object) -> bool:
        return isinstance(type_id, int) and 0 <= type_id < self.type_count

    def _check_id(self, type_id: int) -> int:
        if type_id >= self.type_count:
            raise self._fail(f"type id {type_id} out of range (largest is "
                             f"{self.type_count - 1})")
        return type_id

    def get_as(self, type_id: int, cls: TType[T]) -> T:
        """Type ``type_id``, which must be a ``cls`` (a BTFError names it if it is not)."""
        t = self[type_id]
        if not isinstance(t, cls):
            kind = "void" if t.kind == Kind.UNKN else t.kind.name
            raise self._fail(f"type id {type_id} is {kind}, not {cls.__name__}")
        return t

    def __getitem__(self, type_id: int) -> Type:
        t = self._cache.get(type_id)
        if t is not None:
            return t
        if type_id < self._first_id:
            if type_id == 0:
                return _VOID
            if type_id < 0 or self.base is None:
                raise self._fail(f"type id {type_id} out of range")
            return self.base[type_id]
        t = self._overrides.get(type_id)
        if t is None:
            local = type_id - self._first_id
            if local >= len(self._offsets):
                self._check_id(type_id)
                t = self._appended[local - len(self._offsets)]
            else:
                try:
                    t = decode_type(self._words, self._offsets[local], self.string,
                                    self._check_id)
                except BTFError as e:
                    raise BTFError(f"{e} (decoding type id {type_id})") from None
        self._cache[type_id] = t
        return t

    def kind_of(self, type_id: int) -> Kind:
        """The kind of a type, without decoding it."""
        pos = self._raw_pos(type_id)
        if pos is None:
            if 0 < type_id < self._first_id and self.base is not None:
                return self.base.kind_of(type_id)
            return self[type_id].kind
        return Kind((self._words[pos + 1] >> 24) & 0x1F)

    def name_of(self, type_id: int) -> str:
        """The name of a type ('' when anonymous), without decoding its members."""
        pos = self._raw_pos(type_id)
        if pos is None:
            if 0 < type_id < self._first_id and self.base is not None:
                return self.base.name_of(type_id)
            return self[type_id].name
        return self.string(self._words[pos])

    def _raw_pos(self, type_id: int) -> Optional[int]:
        """Word position of an unmodified own type, else None."""
        local = type_id - self._first_id
        if 0 <= local < len(self._offsets) and type_id not in self._overrides:
            return self._offsets[local]
        return None

    def resolve(self, type_id: int) -> int:
        """Skip typedef/volatile/const/restrict/type_tag; returns the id reached."""
        seen = set()
        while True:
            kind = self.kind_of(type_id)
            if kind not in QUALIFIER_KINDS:
                return type_id
            if type_id in seen:
                raise self._fail(f"reference loop through type id {type_id}")
            seen.add(type_id)
            type_id = self[type_id].type  # type: ignore[attr-defined]

    def size_of(self, type_id: int) -> int:
        """Size in bytes of a type, as the kernel computes it (arrays multiplied out)."""
        seen = set()
        nelems = 1
        start = type_id
        while True:
            if type_id in seen:
                raise self._fail(f"reference loop through type id {type_id} "
                                 f"(sizing type id {start})")
            seen.add(type_id)
            t = self[type_id]
            kind = t.kind
            if kind in _SIZED_KINDS:
                size = t.size  # type: ignore[attr-defined]
                break
            if kind == Kind.PTR:
                size = POINTER_SIZE
                break
            if kind in _SIZE_THROUGH:
                type_id = t.type  # type: ignore[attr-defined]
            elif isinstance(t, Array):
                nelems *= t.nelems
                if nelems > 0xFFFFFFFF:
                    raise self._fail(f"array type id {type_id} is too large (sizing type id "
                                     f"{start})")
                type_id = t.type
            else:
                raise self._fail(f"type id {type_id} ({kind.name}) has no size")
        total: int = nelems * size
        if total > 0xFFFFFFFF:
            raise self._fail(f"type id {start} is larger than 4 GiB")
        return total

    def ids_by_name(self, name: str) -> List[int]:
        """Ids of the types called ``name`` (base first, for split BTF); [] for ''."""
        hit = self._by_name.get(name)
        if hit is not None:
            return list(hit)
        ids = self.base.ids_by_name(name) if self.base is not None else []
        if name:
            ids += self._raw_ids_by_name(name)
        if self._overrides or self._appended:
            ids = [i for i in ids if i not in self._overrides]
            ids += sorted(i for i, t in self._overrides.items() if t.name == name)
            first = self._first_id + len(self._offsets)
            ids += [first + n for n, t in enumerate(self._appended) if t.name == name]
        self._by_name[name] = ids
        return list(ids)

    def ids_by_names(self, names: Iterable[str]) -> Dict[str, List[int]]:
        """``ids_by_name`` of several names in one pass over the types (results cached).

        From ``_BATCH_MIN`` names on, the string table is searched once for all of
        them and the packed name offsets are walked once (in C), instead of both once
        per name: about 11 ms on vmlinux, where one name costs about 2.
        """
        names = list(dict.fromkeys(names))
        todo = [n for n in names if n and n not in self._by_name]
        if len(todo) >= _BATCH_MIN and not self._overrides and not self._appended:
            base = self.base.ids_by_names(todo) if self.base is not None else {}
            own = self._raw_ids_by_names(todo)
            for name in todo:
                self._by_name[name] = base.get(name, []) + own[name]
        return {name: self.ids_by_name(name) for name in names}

    def _raw_ids_by_names(self, names: List[str]) -> Dict[str, List[int]]:
        """Own (unmodified) type ids named by each of ``names``, ascending."""
        out: Dict[str, List[int]] = {name: [] for name in names}
        needles: Dict[bytes, List[str]] = {}
        for name in names:
            raw = name.encode("utf-8", "surrogateescape")
            if raw and b"\0" not in raw:
                needles.setdefault(raw, []).append(name)
        if not needles:
            return out
        wanted: Dict[int, List[str]] = {}  # string offset -> the names it spells
        for off, raw in self._where_spelled(needles):
            wanted.setdefault(off, []).extend(needles[raw])
        if not wanted:
            return out
        packed = memoryview(self._name_offs).cast("I")
        first = self._first_id
        keys = frozenset(wanted)  # set membership is the cheapest test map() can call
        for local in compress(range(len(packed)), map(keys.__contains__, packed)):
            for name in wanted[packed[local]]:
                out[name].append(first + local)
        return out

    def _raw_ids_by_name(self, name: str) -> List[int]:
        needle = name.encode("utf-8", "surrogateescape") + b"\0"
        if b"\0" in needle[:-1]:
            return []
        # Every offset whose string is ``name``: string starts and suffixes of longer
        # strings alike (a name may point into the middle of a string).
        cands = self._string_offsets_of(needle)
        if not cands:
            return []
        packed = self._name_offs
        if len(cands) > 1:  # short names are suffixes of many strings: keep those types use
            if self._name_set is None:
                self._name_set = frozenset(memoryview(packed).cast("I"))
            cands = [off for off in cands if off in self._name_set]
        ids: List[int] = []
        for off in cands:
            pattern = struct.pack("=I", off)
            at = packed.find(pattern)
            while at != -1:
                if at % 4 == 0:
                    ids.append(self._first_id + at // 4)
                at = packed.find(pattern, at + 1)
        ids.sort()
        return ids

    def _string_offsets_of(self, needle: bytes) -> List[int]:
        """Every offset (base tables included) where the string ``needle[:-1]`` starts."""
        found = self.base._string_offsets_of(needle) if self.base is not None else []
        found += [p + self._base_str_len for p in _find_all(self._strs, needle)]
        return found

    def _where_spelled(self, needles: Iterable[bytes]) -> List[Tuple[int, bytes]]:
        """(offset, needle) for every offset, base tables included, where a needle is
        spelled: as a whole string or as the tail of a longer one.

        One regular expression scans the reversed table: there every string's end
        follows a NUL, and the alternation (longest first) finds the longest needle
        that ends there; the other needles it ends with are added from it.
        """
        found = self.base._where_spelled(needles) if self.base is not None else []
        ordered = sorted(needles, key=lambda raw: (-len(raw), raw))
        tails = {raw: [(len(raw) - len(other), other) for other in ordered
                       if len(other) < len(raw) and raw.endswith(other)] for raw in ordered}
        firsts = bytes(sorted({raw[-1] for raw in ordered}))
        # the leading class lets the engine reject most strings on their last byte
        pattern = re.compile(b"\0(?=[" + re.escape(firsts) + b"])("
                             + b"|".join(re.escape(raw[::-1]) for raw in ordered) + b")")
        end = self._base_str_len + len(self._strs) - 1  # R[j] is strs[end - j]
        for m in pattern.finditer(self._strs[::-1]):
            raw = m.group(1)[::-1]
            off = end - m.start() - len(raw)
            found.append((off, raw))
            found += [(off + skip, other) for skip, other in tails[raw]]
        return found

    # -- modification and marshalling ---------------------------------------------------

    def set_type(self, type_id: int, t: Type) -> None:
        """Replace an own type (not one of the base's) by ``t``."""
        if not isinstance(t, Type) or isinstance(t, Void):
            raise TypeError(f"cannot store {t!r} as a BTF type")
        if not self._first_id <= type_id < self.type_count:
            raise self._fail(f"type id {type_id} is not defined by this blob")
        local = type_id - self._first_id
        if local >= len(self._offsets):
            self._appended[local - len(self._offsets)] = t
        else:
            self._overrides[type_id] = t
        self._cache[type_id] = t
        self._by_name.clear()

    def add(self, t: Type) -> int:
        """Append a new type; returns its id."""
        if not isinstance(t, Type) or isinstance(t, Void):
            raise TypeError(f"cannot store {t!r} as a BTF type")
        if self.type_count > BTF_MAX_TYPE:
            raise self._fail("no type id left")
        self._appended.append(t)
        self._by_name.clear()
        return self.type_count - 1

    def to_bytes(self) -> bytes:
        """A little-endian BTF blob of this spec's own types (modifications included)."""
        strs = bytearray(self._strs)
        base_len = self._base_str_len
        found: Optional[Dict[str, int]] = None

        def stroff(s: str) -> int:
            nonlocal found
            if found is None:
                found = self._string_offsets()
            off = found.get(s)
            if off is None:
                off = found[s] = len(strs) + base_len
                strs.extend(s.encode("utf-8", "surrogateescape") + b"\0")
            return off

        words = self._words
        offsets = self._offsets
        chunks: List[bytes] = []
        run = 0  # word position where the current run of unmodified types starts
        for type_id in sorted(self._overrides):
            local = type_id - self._first_id
            chunks.append(_words_bytes(words, run, offsets[local]))
            chunks.append(encode_to_bytes(self._overrides[type_id], stroff, f"type id {type_id}"))
            run = offsets[local + 1] if local + 1 < len(offsets) else len(words)
        chunks.append(_words_bytes(words, run, len(words)))
        for n, t in enumerate(self._appended):
            type_id = self._first_id + len(offsets) + n
            chunks.append(encode_to_bytes(t, stroff, f"type id {type_id}"))
        types = b"".join(chunks)
        return HEADER.pack(BTF_MAGIC, BTF_VERSION, 0, HEADER_LEN, 0, len(types), len(types),
                           len(strs)) + types + bytes(strs)

    def _string_offsets(self) -> Dict[str, int]:
        """Every string of the own table -> its first offset ("" -> 0)."""
        offsets: Dict[str, int] = {}
        pos = self._base_str_len
        for raw in self._strs.split(b"\0"):
            offsets.setdefault(raw.decode("utf-8", "surrogateescape"), pos)
            pos += len(raw) + 1
        offsets[""] = 0
        return offsets

    def __repr__(self) -> str:
        return f"<btf.Spec {self.name} types={self.type_count - self._first_id}>"


def _find_all(data: bytes, needle: bytes) -> List[int]:
    found = []
    pos = data.find(needle)
    while pos != -1:
        found.append(pos)
        pos = data.find(needle, pos + 1)
    return found


def _words_bytes(words: Words, start: int, end: int) -> bytes:
    if start >= end:
        return b""
    part = words[start:end]
    if isinstance(part, memoryview) and _NATIVE_LITTLE:
        return part.tobytes()
    return words_to_bytes(part.tolist(), "types")
