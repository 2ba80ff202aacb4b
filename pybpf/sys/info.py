"""BPF_OBJ_GET_INFO_BY_FD: the info structs and the records callers see.

The kernel fills min(our size, its size) bytes and leaves the rest zero, so
fields newer than the running kernel read as 0.
"""
from __future__ import annotations

import ctypes
import errno
import os
import sys

from pybpf.errors import syscall_error
from pybpf.records import Record
from pybpf.sys.attrs import InfoAttr, u8, u32, u64
from pybpf.sys.fd import FD
from pybpf.sys.syscall import bpf
from pybpf.uapi import bpf_cmd, bpf_link_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List, Optional, Union
    FDLike = Union[FD, int]


class ProgInfoStruct(ctypes.Structure):
    _fields_ = [
        ("type", u32),
        ("id", u32),
        ("tag", u8 * 8),
        ("jited_prog_len", u32),
        ("xlated_prog_len", u32),
        ("jited_prog_insns", u64),
        ("xlated_prog_insns", u64),
        ("load_time", u64),
        ("created_by_uid", u32),
        ("nr_map_ids", u32),
        ("map_ids", u64),
        ("name", ctypes.c_char * 16),
        ("ifindex", u32),
        ("gpl_compatible", u32, 1),
        ("netns_dev", u64),
        ("netns_ino", u64),
        ("nr_jited_ksyms", u32),
        ("nr_jited_func_lens", u32),
        ("jited_ksyms", u64),
        ("jited_func_lens", u64),
        ("btf_id", u32),
        ("func_info_rec_size", u32),
        ("func_info", u64),
        ("nr_func_info", u32),
        ("nr_line_info", u32),
        ("line_info", u64),
        ("jited_line_info", u64),
        ("nr_jited_line_info", u32),
        ("line_info_rec_size", u32),
        ("jited_line_info_rec_size", u32),
        ("nr_prog_tags", u32),
        ("prog_tags", u64),
        ("run_time_ns", u64),
        ("run_cnt", u64),
        ("recursion_misses", u64),
        ("verified_insns", u32),
        ("attach_btf_obj_id", u32),
        ("attach_btf_id", u32),
    ]


class MapInfoStruct(ctypes.Structure):
    _fields_ = [
        ("type", u32),
        ("id", u32),
        ("key_size", u32),
        ("value_size", u32),
        ("max_entries", u32),
        ("map_flags", u32),
        ("name", ctypes.c_char * 16),
        ("ifindex", u32),
        ("btf_vmlinux_value_type_id", u32),
        ("netns_dev", u64),
        ("netns_ino", u64),
        ("btf_id", u32),
        ("btf_key_type_id", u32),
        ("btf_value_type_id", u32),
        ("btf_vmlinux_id", u32),
        ("map_extra", u64),
        ("hash", u64),
        ("hash_size", u32),
    ]


class BTFInfoStruct(ctypes.Structure):
    _fields_ = [
        ("btf", u64),
        ("btf_size", u32),
        ("id", u32),
        ("name", u64),
        ("name_len", u32),
        ("kernel_btf", u32),
    ]


class LinkInfoStruct(ctypes.Structure):
    """struct bpf_link_info: the common head, then a 48-byte per-type union read by offset."""

    _fields_ = [
        ("type", u32),
        ("id", u32),
        ("prog_id", u32),
        ("_pad", u32),
        ("union", u8 * 48),
    ]


INFO_SIZES = {ProgInfoStruct: 232, MapInfoStruct: 104, BTFInfoStruct: 32, LinkInfoStruct: 64}


# what /proc/self/fd/N names each kind of BPF object ("anon_inode:bpf-map"; links are both
# "bpf_link" and "bpf-link"), normalised by _kind_of, by the info struct that reads it
_KINDS = {ProgInfoStruct: "bpf-prog", MapInfoStruct: "bpf-map", BTFInfoStruct: "btf",
          LinkInfoStruct: "bpf-link"}
_KIND_WORDS = {"bpf-prog": "a BPF program", "bpf-map": "a BPF map", "btf": "a BTF object",
               "bpf-link": "a BPF link"}


def _kind_of(fd: FDLike) -> str:
    try:
        target = os.readlink(f"/proc/self/fd/{int(fd)}")
    except OSError:
        return ""
    return target.split(":", 1)[-1].strip("[]").replace("_", "-")


def _check_kind(fd: FDLike, info: ctypes.Structure, what: str) -> None:
    """Refuse to read, say, a program's info as a map's: the kernel would fill the buffer
    with the program's info and the map fields would be nonsense. Only a BPF object of
    another known kind is refused (unchecked when /proc cannot tell)."""
    want = _KINDS.get(type(info))
    have = _kind_of(fd)
    if want is not None and have in _KIND_WORDS and have != want:
        raise syscall_error("BPF_OBJ_GET_INFO_BY_FD", errno.EINVAL,
                            f"{what}: the fd holds {_KIND_WORDS[have]}, not {_KIND_WORDS[want]}")


def get_info(fd: FDLike, info: ctypes.Structure, what: str = "") -> int:
    """Fill ``info`` for the object behind ``fd`` (which must be of the kind ``info``
    describes); returns the length the kernel wrote."""
    _check_kind(fd, info, what)
    attr = InfoAttr()
    attr.bpf_fd = int(fd)
    attr.info_len = ctypes.sizeof(info)
    attr.info = ctypes.addressof(info)
    bpf(bpf_cmd.OBJ_GET_INFO_BY_FD, attr, what)
    return attr.info_len


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


class ProgInfo(Record):
    __slots__ = ("type", "id", "tag", "name", "jited_prog_len", "xlated_prog_len", "load_time",
                 "created_by_uid", "map_ids", "gpl_compatible", "btf_id", "run_time_ns", "run_cnt",
                 "recursion_misses", "verified_insns", "attach_btf_obj_id", "attach_btf_id")

    type: int
    id: int
    tag: str
    name: str
    jited_prog_len: int
    xlated_prog_len: int
    load_time: int
    created_by_uid: int
    map_ids: List[int]
    gpl_compatible: bool
    btf_id: int
    run_time_ns: int
    run_cnt: int
    recursion_misses: int
    verified_insns: int
    attach_btf_obj_id: int
    attach_btf_id: int

    def __init__(
            self,
            type: int,
            id: int,
            tag: str,
            name: str,
            jited_prog_len: int,
            xlated_prog_len: int,
            load_time: int,
            created_by_uid: int,
            map_ids: List[int],
            gpl_compatible: bool,
            btf_id: int,
            run_time_ns: int,
            run_cnt: int,
            recursion_misses: int,
            verified_insns: int,
            attach_btf_obj_id: int,
            attach_btf_id: int,
    ) -> None:
        self.type = type
        self.id = id
        self.tag = tag
        self.name = name
        self.jited_prog_len = jited_prog_len
        self.xlated_prog_len = xlated_prog_len
        self.load_time = load_time
        self.created_by_uid = created_by_uid
        self.map_ids = map_ids
        self.gpl_compatible = gpl_compatible
        self.btf_id = btf_id
        self.run_time_ns = run_time_ns
        self.run_cnt = run_cnt
        self.recursion_misses = recursion_misses
        self.verified_insns = verified_insns
        self.attach_btf_obj_id = attach_btf_obj_id
        self.attach_btf_id = attach_btf_id


def prog_info(fd: FDLike, map_ids: bool = True) -> ProgInfo:
    """Info on a loaded program; ``map_ids`` also fetches the ids of the maps it uses."""
    raw = ProgInfoStruct()
    get_info(fd, raw, "program info")
    ids: List[int] = []
    if map_ids and raw.nr_map_ids:
        count = raw.nr_map_ids
        buf = (u32 * count)()
        again = ProgInfoStruct()
        again.nr_map_ids = count
        again.map_ids = ctypes.addressof(buf)
        get_info(fd, again, "program map ids")
        ids = list(buf[: min(count, again.nr_map_ids)])
    return ProgInfo(
        type=raw.type, id=raw.id, tag=bytes(raw.tag).hex(), name=_cstr(raw.name),
        jited_prog_len=raw.jited_prog_len, xlated_prog_len=raw.xlated_prog_len,
        load_time=raw.load_time, created_by_uid=raw.created_by_uid, map_ids=ids,
        gpl_compatible=bool(raw.gpl_compatible), btf_id=raw.btf_id,
        run_time_ns=raw.run_time_ns, run_cnt=raw.run_cnt,
        recursion_misses=raw.recursion_misses, verified_insns=raw.verified_insns,
        attach_btf_obj_id=raw.attach_btf_obj_id, attach_btf_id=raw.attach_btf_id,
    )


def prog_xlated_insns(fd: FDLike) -> bytes:
    """The program as the kernel rewrote it (``bpftool prog dump xlated`` input)."""
    raw = ProgInfoStruct()
    get_info(fd, raw, "program info")
    size = raw.xlated_prog_len
    if not size:
        return b""
    buf = ctypes.create_string_buffer(size)
    again = ProgInfoStruct()
    again.xlated_prog_len = size
    again.xlated_prog_insns = ctypes.addressof(buf)
    get_info(fd, again, "program xlated instructions")
    return buf.raw[: again.xlated_prog_len]


class MapInfo(Record):
    __slots__ = ("type", "id", "key_size", "value_size", "max_entries", "map_flags", "name",
                 "ifindex", "btf_id", "btf_key_type_id", "btf_value_type_id",
                 "btf_vmlinux_value_type_id", "map_extra")

    type: int
    id: int
    key_size: int
    value_size: int
    max_entries: int
    map_flags: int
    name: str
    ifindex: int
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int
    btf_vmlinux_value_type_id: int
    map_extra: int

    def __init__(
            self,
            type: int,
            id: int,
            key_size: int,
            value_size: int,
            max_entries: int,
            map_flags: int,
            name: str,
            ifindex: int,
            btf_id: int,
            btf_key_type_id: int,
            btf_value_type_id: int,
            btf_vmlinux_value_type_id: int,
            map_extra: int,
    ) -> None:
        self.type = type
        self.id = id
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries
        self.map_flags = map_flags
        self.name = name
        self.ifindex = ifindex
        self.btf_id = btf_id
        self.btf_key_type_id = btf_key_type_id
        self.btf_value_type_id = btf_value_type_id
        self.btf_vmlinux_value_type_id = btf_vmlinux_value_type_id
        self.map_extra = map_extra


def map_info(fd: FDLike) -> MapInfo:
    """Info on a map."""
    raw = MapInfoStruct()
    get_info(fd, raw, "map info")
    return MapInfo(
        type=raw.type, id=raw.id, key_size=raw.key_size, value_size=raw.value_size,
        max_entries=raw.max_entries, map_flags=raw.map_flags, name=_cstr(raw.name),
        ifindex=raw.ifindex, btf_id=raw.btf_id, btf_key_type_id=raw.btf_key_type_id,
        btf_value_type_id=raw.btf_value_type_id,
        btf_vmlinux_value_type_id=raw.btf_vmlinux_value_type_id, map_extra=raw.map_extra,
    )


class BTFInfo(Record):
    __slots__ = ("id", "btf_size", "name", "kernel_btf", "data")

    id: int
    btf_size: int
    name: str
    kernel_btf: bool
    data: Optional[bytes]

    def __init__(
            self,
            id: int,
            btf_size: int,
            name: str,
            kernel_btf: bool,
            data: Optional[bytes] = None,
    ) -> None:
        self.id = id
        self.btf_size = btf_size
        self.name = name
        self.kernel_btf = kernel_btf
        self.data = data


def btf_info(fd: FDLike, data: bool = False) -> BTFInfo:
    """Info on a BTF object; ``data=True`` also copies the raw BTF out.

    The name fields are 5.11+; they are asked for only when the first call
    shows the kernel's struct is long enough (an older kernel refuses a
    non-zero tail it does not know with E2BIG).
    """
    raw = BTFInfoStruct()
    known = get_info(fd, raw, "BTF info")
    name = ""
    if known >= BTFInfoStruct.kernel_btf.offset + 4:
        buf = ctypes.create_string_buffer(256)
        again = BTFInfoStruct()
        again.name = ctypes.addressof(buf)
        again.name_len = len(buf)
        get_info(fd, again, "BTF name")
        name = _cstr(buf.raw)
    blob: Optional[bytes] = None
    if data and raw.btf_size:
        buf = ctypes.create_string_buffer(raw.btf_size)
        again = BTFInfoStruct()
        again.btf = ctypes.addressof(buf)
        again.btf_size = raw.btf_size
        get_info(fd, again, "BTF data")
        blob = buf.raw[: again.btf_size]
    return BTFInfo(id=raw.id, btf_size=raw.btf_size, name=name,
                   kernel_btf=bool(raw.kernel_btf), data=blob)


class LinkInfo(Record):
    """Common link fields; ``details`` holds the per-type numbers (attach_type, ifindex...)."""

    __slots__ = ("type", "id", "prog_id", "details")

    type: int
    id: int
    prog_id: int
    details: Dict[str, object]

    def __init__(
            self,
            type: int,
            id: int,
            prog_id: int,
            details: Optional[Dict[str, object]] = None,
    ) -> None:
        self.type = type
        self.id = id
        self.prog_id = prog_id
        self.details = dict() if details is None else details


def _u32(buf: bytes, off: int) -> int:
    return int.from_bytes(buf[off:off + 4], sys.byteorder)


def _u64(buf: bytes, off: int) -> int:
    return int.from_bytes(buf[off:off + 8], sys.byteorder)


def _link_details(kind: int, u: bytes) -> Dict[str, object]:
    if kind == bpf_link_type.TRACING:
        return {"attach_type": _u32(u, 0), "target_obj_id": _u32(u, 4),
                "target_btf_id": _u32(u, 8), "cookie": _u64(u, 16)}
    if kind == bpf_link_type.CGROUP:
        return {"cgroup_id": _u64(u, 0), "attach_type": _u32(u, 8)}
    if kind == bpf_link_type.NETNS:
        return {"netns_ino": _u32(u, 0), "attach_type": _u32(u, 4)}
    if kind == bpf_link_type.XDP:
        return {"ifindex": _u32(u, 0)}
    if kind == bpf_link_type.STRUCT_OPS:
        return {"map_id": _u32(u, 0)}
    if kind == bpf_link_type.NETFILTER:
        return {"pf": _u32(u, 0), "hooknum": _u32(u, 4),
                "priority": ctypes.c_int32(_u32(u, 8)).value, "flags": _u32(u, 12)}
    if kind == bpf_link_type.KPROBE_MULTI:
        return {"count": _u32(u, 8), "flags": _u32(u, 12), "missed": _u64(u, 16)}
    if kind == bpf_link_type.UPROBE_MULTI:
        return {"count": _u32(u, 36), "flags": _u32(u, 40), "pid": _u32(u, 44)}
    if kind == bpf_link_type.PERF_EVENT:
        return {"perf_event_type": _u32(u, 0)}
    if kind in (bpf_link_type.TCX, bpf_link_type.NETKIT):
        return {"ifindex": _u32(u, 0), "attach_type": _u32(u, 4)}
    if kind == bpf_link_type.SOCKMAP:
        return {"map_id": _u32(u, 0), "attach_type": _u32(u, 4)}
    if kind == bpf_link_type.ITER:
        return {"map_id": _u32(u, 12)}
    return {}


def link_info(fd: FDLike) -> LinkInfo:
    """Info on a link; raw tracepoint links also report ``tp_name``, iterators ``target_name``."""
    raw = LinkInfoStruct()
    get_info(fd, raw, "link info")
    details = _link_details(raw.type, bytes(raw.union))
    if raw.type in (bpf_link_type.RAW_TRACEPOINT, bpf_link_type.ITER):
        # both start their union with a (name buffer, length) pair
        name = ctypes.create_string_buffer(256)
        again = LinkInfoStruct()
        head = (u64 * 1)(ctypes.addressof(name))
        ctypes.memmove(ctypes.addressof(again.union), head, 8)
        ctypes.memmove(ctypes.addressof(again.union) + 8, (u32 * 1)(len(name)), 4)
        get_info(fd, again, "link info")
        key = "tp_name" if raw.type == bpf_link_type.RAW_TRACEPOINT else "target_name"
        details[key] = _cstr(name.raw)
        if raw.type == bpf_link_type.RAW_TRACEPOINT:
            details["cookie"] = _u64(bytes(again.union), 16)
    return LinkInfo(type=raw.type, id=raw.id, prog_id=raw.prog_id, details=details)


__all__ = [
    "ProgInfo", "MapInfo", "BTFInfo", "LinkInfo", "prog_info", "prog_xlated_insns",
    "map_info", "btf_info", "link_info", "get_info",
]
