"""Event decoding: a ring-buffer record -> dict, driven by the object's BTF.

The event struct is found by name in the object's BTF (the BPF side names
it with GADGET_EVENT) and decoded with pybpf.btf.codec; byte-array members
that carry several strings (argv, leaf-first path components) are also
kept raw, sliced at the member offset BTF gives. Helpers here turn those
into Python values and boot-time stamps into wall-clock time.
"""
from __future__ import annotations

import itertools
import time

from .errors import GadgetError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Tuple


def find_struct(btf: Any, name: str) -> int:
    """The type id of struct ``name`` in an object's BTF."""
    from pybpf.btf import types as btf_types

    for tid in btf.ids_by_name(name):
        if isinstance(btf[tid], btf_types.Struct):
            return tid
    raise GadgetError(f"struct {name!r} is not in the object's BTF (missing GADGET_EVENT?)")


def member_spans(btf: Any, struct_id: int, names: Iterable[str]) -> Dict[str, Tuple[int, int]]:
    """Byte offset and size of named members of a struct, from BTF."""
    st = btf[struct_id]
    want = set(names)
    out = {}
    for m in st.members:
        if m.name in want:
            out[m.name] = (m.bit_offset // 8, btf.size_of(m.type))
    missing = want - set(out)
    if missing:
        raise GadgetError(f"struct {st.name!r} has no member {sorted(missing)[0]!r}")
    return out


class EventDecoder:
    """Decodes records of one event struct; short records (variable-length
    tails) are zero-padded to the struct size first. ``spec``: the prepared
    object; its struct decoder comes from pybpf.decoders (no BTF parsed on a
    warm start)."""

    def __init__(self, spec: Any, struct_name: str, raw_members: Iterable[str] = ()) -> None:
        from pybpf.decoders import struct_decoder
        from pybpf.errors import BTFError

        try:
            self.struct = struct_decoder(spec, struct_name)
        except BTFError:
            raise GadgetError(f"struct {struct_name!r} is not in the object's BTF "
                              f"(missing GADGET_EVENT?)") from None
        self.size = self.struct.size
        # every member's offset and size (a path that slices the record itself)
        self.spans = self.struct.spans
        missing = sorted(set(raw_members) - set(self.spans))
        if missing:
            raise GadgetError(f"struct {struct_name!r} has no member {missing[0]!r}")
        self.raw = {name: self.spans[name] for name in raw_members}
        self._zeros = bytes(self.size)

    def decode(self, record: Any) -> Dict[str, Any]:
        """A record (bytes, or a memoryview of the ring) -> dict; one copy at
        most (a short record is joined to its zero padding). A member kept raw
        holds the bytes the record carries: a variable-length tail (a path, the
        arguments) is not padded to the member's size."""
        have = len(record)
        buf = record if have >= self.size else bytes(record) + self._zeros[have:]
        out = self.struct.decode_from(buf)
        for name, (off, size) in self.raw.items():
            out[name] = bytes(record[off: off + size])
        return out


def cstr(value: Any) -> str:
    """A C char array decoded by the codec (str, bytes or list) -> str."""
    if isinstance(value, str):
        return value.split("\0", 1)[0] if "\0" in value else value
    if isinstance(value, (list, tuple)):
        value = bytes(v & 0xFF for v in value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
    return str(value)


def split_strings(buf: bytes, size: int) -> List[str]:
    """NUL-separated strings in the first ``size`` bytes (a cut-off last one kept)."""
    data = bytes(buf[:size])
    if data.endswith(b"\0"):
        data = data[:-1]
    if not data:
        return []
    return [s.decode("utf-8", "replace") for s in data.split(b"\0")]


def join_path(buf: bytes, size: int, truncated: bool = False) -> str:
    """Leaf-first components (gadget/path.h) -> "/a/b/c"; "…/b/c" when the
    walk stopped before the root."""
    parts = split_strings(buf, size)
    path = "/" + "/".join(reversed(parts))
    return ("..." + path) if truncated else path


# "000".."999" (product's order is the numbers'): a fifth of the time of formatting
# each (~60 against ~330 us, paid by every start)
_DIGITS3 = tuple(map("".join, itertools.product("0123456789", repeat=3)))


class Clock:
    """Converts CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns) to wall time."""

    def __init__(self) -> None:
        self.offset_ns = time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        self._start = 1 << 64  # the boot time at which the second of _prefix starts
        self._prefix = ""

    def iso(self, boot_ns: int) -> str:
        """ISO 8601 UTC with microseconds ("2026-11-25T16:20:00.123456Z")."""
        us = (boot_ns - self._start) // 1000
        if 0 <= us < 1_000_000:  # events come in bursts within one second
            # two table lookups: about half the time of formatting with "06d"
            ms, us = divmod(us, 1000)
            return f"{self._prefix}.{_DIGITS3[ms]}{_DIGITS3[us]}Z"
        sec = (boot_ns + self.offset_ns) // 1_000_000_000
        self._start = sec * 1_000_000_000 - self.offset_ns
        self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return self.iso(boot_ns)


#: the proc of an event or row no process is known for (a socket nobody holds)
NO_PROC: Dict[str, Any] = {"comm": "", "pid": 0, "tid": 0, "ppid": 0, "pcomm": "", "uid": 0,
                           "gid": 0, "mntns_id": 0, "cgroup_id": 0}


def proc_fields(raw: Dict[str, Any]) -> Dict[str, Any]:
    """struct gadget_proc (decoded) -> the presented proc dict."""
    return {
        "comm": cstr(raw["comm"]), "pid": raw["pid"], "tid": raw["tid"],
        "ppid": raw["ppid"], "pcomm": cstr(raw["pcomm"]), "uid": raw["uid"],
        "gid": raw["gid"], "mntns_id": raw["mntns_id"], "cgroup_id": raw["cgroup_id"],
    }
