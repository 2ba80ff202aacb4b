"""ctypes layouts of the members of ``union bpf_attr`` that pybpf uses.

One Structure per command. Each is laid out with the natural C alignment
of the uapi header, so ``ctypes.sizeof()`` is the size the kernel expects
for the fields we know; a kernel that knows fewer fields accepts a larger
attr as long as the unknown tail is zero, which it is unless we set it.
"""
from __future__ import annotations

import ctypes

u8 = ctypes.c_uint8
u32 = ctypes.c_uint32
s32 = ctypes.c_int32
u64 = ctypes.c_uint64


class Attr(ctypes.Structure):
    """Base class: every attr starts zeroed; ``size()`` is what bpf() is told."""

    @classmethod
    def size(cls) -> int:
        return ctypes.sizeof(cls)


class MapCreateAttr(Attr):
    _fields_ = [
        ("map_type", u32),
        ("key_size", u32),
        ("value_size", u32),
        ("max_entries", u32),
        ("map_flags", u32),
        ("inner_map_fd", u32),
        ("numa_node", u32),
        ("map_name", ctypes.c_char * 16),
        ("map_ifindex", u32),
        ("btf_fd", u32),
        ("btf_key_type_id", u32),
        ("btf_value_type_id", u32),
        ("btf_vmlinux_value_type_id", u32),
        ("map_extra", u64),
        ("value_type_btf_obj_fd", s32),
        ("map_token_fd", s32),
    ]


class MapElemAttr(Attr):
    """MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, MAP_DELETE_ELEM, MAP_GET_NEXT_KEY,
    MAP_LOOKUP_AND_DELETE_ELEM, MAP_FREEZE (``value`` doubles as ``next_key``)."""

    _fields_ = [
        ("map_fd", u32),
        ("key", u64),
        ("value", u64),
        ("flags", u64),
    ]


class MapBatchAttr(Attr):
    """MAP_LOOKUP_BATCH, MAP_LOOKUP_AND_DELETE_BATCH, MAP_UPDATE_BATCH, MAP_DELETE_BATCH."""

    _fields_ = [
        ("in_batch", u64),
        ("out_batch", u64),
        ("keys", u64),
        ("values", u64),
        ("count", u32),
        ("map_fd", u32),
        ("elem_flags", u64),
        ("flags", u64),
    ]


class ProgLoadAttr(Attr):
    """PROG_LOAD up to log_true_size (Linux 6.4)."""

    _fields_ = [
        ("prog_type", u32),
        ("insn_cnt", u32),
        ("insns", u64),
        ("license", u64),
        ("log_level", u32),
        ("log_size", u32),
        ("log_buf", u64),
        ("kern_version", u32),
        ("prog_flags", u32),
        ("prog_name", ctypes.c_char * 16),
        ("prog_ifindex", u32),
        ("expected_attach_type", u32),
        ("prog_btf_fd", u32),
        ("func_info_rec_size", u32),
        ("func_info", u64),
        ("func_info_cnt", u32),
        ("line_info_rec_size", u32),
        ("line_info", u64),
        ("line_info_cnt", u32),
        ("attach_btf_id", u32),
        # union { attach_prog_fd; attach_btf_obj_fd; }
        ("attach_fd", u32),
        ("core_relo_cnt", u32),
        ("fd_array", u64),
        ("core_relos", u64),
        ("core_relo_rec_size", u32),
        ("log_true_size", u32),
    ]


class ObjAttr(Attr):
    """OBJ_PIN and OBJ_GET."""

    _fields_ = [
        ("pathname", u64),
        ("bpf_fd", u32),
        ("file_flags", u32),
        ("path_fd", s32),
    ]


class ProgAttachAttr(Attr):
    """PROG_ATTACH and PROG_DETACH (target_fd doubles as target_ifindex)."""

    _fields_ = [
        ("target_fd", u32),
        ("attach_bpf_fd", u32),
        ("attach_type", u32),
        ("attach_flags", u32),
        ("replace_bpf_fd", u32),
        ("relative_fd", u32),
        ("expected_revision", u64),
    ]


class TestRunAttr(Attr):
    """PROG_TEST_RUN (alias PROG_RUN)."""

    __test__ = False  # not a pytest class

    _fields_ = [
        ("prog_fd", u32),
        ("retval", u32),
        ("data_size_in", u32),
        ("data_size_out", u32),
        ("data_in", u64),
        ("data_out", u64),
        ("repeat", u32),
        ("duration", u32),
        ("ctx_size_in", u32),
        ("ctx_size_out", u32),
        ("ctx_in", u64),
        ("ctx_out", u64),
        ("flags", u32),
        ("cpu", u32),
        ("batch_size", u32),
    ]


class GetIdAttr(Attr):
    """*_GET_NEXT_ID and *_GET_FD_BY_ID (``id`` is start_id/prog_id/map_id/...)."""

    _fields_ = [
        ("id", u32),
        ("next_id", u32),
        ("open_flags", u32),
        ("token_fd", s32),
    ]


class InfoAttr(Attr):
    """OBJ_GET_INFO_BY_FD."""

    _fields_ = [
        ("bpf_fd", u32),
        ("info_len", u32),
        ("info", u64),
    ]


class RawTracepointAttr(Attr):
    """RAW_TRACEPOINT_OPEN."""

    _fields_ = [
        ("name", u64),
        ("prog_fd", u32),
        ("cookie", u64),
    ]


class BTFLoadAttr(Attr):
    """BTF_LOAD."""

    _fields_ = [
        ("btf", u64),
        ("btf_log_buf", u64),
        ("btf_size", u32),
        ("btf_log_size", u32),
        ("btf_log_level", u32),
        ("btf_log_true_size", u32),
        ("btf_flags", u32),
        ("btf_token_fd", s32),
    ]


class _IterLinkOpts(ctypes.Structure):
    _fields_ = [("iter_info", u64), ("iter_info_len", u32)]


class _PerfEventLinkOpts(ctypes.Structure):
    _fields_ = [("bpf_cookie", u64)]


class _KprobeMultiOpts(ctypes.Structure):
    _fields_ = [
        ("flags", u32),
        ("cnt", u32),
        ("syms", u64),
        ("addrs", u64),
        ("cookies", u64),
    ]


class _TracingLinkOpts(ctypes.Structure):
    _fields_ = [("target_btf_id", u32), ("cookie", u64)]


class _NetfilterLinkOpts(ctypes.Structure):
    _fields_ = [("pf", u32), ("hooknum", u32), ("priority", s32), ("flags", u32)]


class _RelativeLinkOpts(ctypes.Structure):
    """tcx, netkit and cgroup (relative_fd doubles as relative_id)."""

    _fields_ = [("relative_fd", u32), ("expected_revision", u64)]


class _UprobeMultiOpts(ctypes.Structure):
    _fields_ = [
        ("path", u64),
        ("offsets", u64),
        ("ref_ctr_offsets", u64),
        ("cookies", u64),
        ("cnt", u32),
        ("flags", u32),
        ("pid", u32),
    ]


class _LinkCreateUnion(ctypes.Union):
    _fields_ = [
        ("target_btf_id", u32),
        ("iter", _IterLinkOpts),
        ("perf_event", _PerfEventLinkOpts),
        ("kprobe_multi", _KprobeMultiOpts),
        ("tracing", _TracingLinkOpts),
        ("netfilter", _NetfilterLinkOpts),
        ("tcx", _RelativeLinkOpts),
        ("uprobe_multi", _UprobeMultiOpts),
        ("netkit", _RelativeLinkOpts),
        ("cgroup", _RelativeLinkOpts),
    ]


class LinkCreateAttr(Attr):
    """LINK_CREATE: prog_fd (or map_fd), target_fd (or target_ifindex), per-kind options in ``opts``."""

    _fields_ = [
        ("prog_fd", u32),
        ("target_fd", u32),
        ("attach_type", u32),
        ("flags", u32),
        ("opts", _LinkCreateUnion),
    ]


class LinkUpdateAttr(Attr):
    _fields_ = [
        ("link_fd", u32),
        ("new_prog_fd", u32),
        ("flags", u32),
        ("old_prog_fd", u32),
    ]


class LinkDetachAttr(Attr):
    _fields_ = [("link_fd", u32)]


class EnableStatsAttr(Attr):
    _fields_ = [("type", u32)]


class IterCreateAttr(Attr):
    _fields_ = [("link_fd", u32), ("flags", u32)]


class ProgBindMapAttr(Attr):
    _fields_ = [("prog_fd", u32), ("map_fd", u32), ("flags", u32)]


class ProgQueryAttr(Attr):
    """PROG_QUERY (target_fd doubles as target_ifindex; prog_cnt as count)."""

    _fields_ = [
        ("target_fd", u32),
        ("attach_type", u32),
        ("query_flags", u32),
        ("attach_flags", u32),
        ("prog_ids", u64),
        ("prog_cnt", u32),
        ("prog_attach_flags", u64),
        ("link_ids", u64),
        ("link_attach_flags", u64),
        ("revision", u64),
    ]


# Sizes as laid out by the uapi header (checked by tests/unit/test_sys_attrs.py).
EXPECTED_SIZES = {
    MapCreateAttr: 80,
    MapElemAttr: 32,
    MapBatchAttr: 56,
    ProgLoadAttr: 144,
    ObjAttr: 24,
    ProgAttachAttr: 32,
    TestRunAttr: 80,
    GetIdAttr: 16,
    InfoAttr: 16,
    RawTracepointAttr: 24,
    BTFLoadAttr: 40,
    LinkCreateAttr: 64,
    LinkUpdateAttr: 16,
    LinkDetachAttr: 4,
    EnableStatsAttr: 4,
    IterCreateAttr: 8,
    ProgBindMapAttr: 12,
    ProgQueryAttr: 64,
}
