"""bpf_attr member layouts, info structs, constants and small parsers of pybpf.sys."""
from __future__ import annotations

import ctypes
import errno

import pytest

from pybpf import uapi as C
from pybpf.errors import NotFoundError, PermissionDeniedError
from pybpf.sys import attrs as A
from pybpf.sys import info as I
from pybpf.sys.cpus import parse_cpu_list
from pybpf.sys.syscall import cmd_name


@pytest.mark.parametrize("cls,size", sorted(A.EXPECTED_SIZES.items(), key=lambda kv: kv[0].__name__))
def test_attr_sizes(cls, size):
    assert ctypes.sizeof(cls) == size == cls.size()


@pytest.mark.parametrize("cls,size", sorted(I.INFO_SIZES.items(), key=lambda kv: kv[0].__name__))
def test_info_sizes_match_kernel_btf(cls, size):
    # sizes of struct bpf_*_info in Linux 6.18's BTF
    assert ctypes.sizeof(cls) == size


@pytest.mark.parametrize("cls,field,offset", [
    (A.MapCreateAttr, "map_name", 28),
    (A.MapCreateAttr, "btf_vmlinux_value_type_id", 60),
    (A.MapCreateAttr, "map_extra", 64),
    (A.MapElemAttr, "key", 8),
    (A.MapBatchAttr, "count", 32),
    (A.MapBatchAttr, "elem_flags", 40),
    (A.ProgLoadAttr, "prog_name", 48),
    (A.ProgLoadAttr, "expected_attach_type", 68),
    (A.ProgLoadAttr, "attach_btf_id", 108),
    (A.ProgLoadAttr, "attach_fd", 112),
    (A.ProgLoadAttr, "fd_array", 120),
    (A.ProgLoadAttr, "log_true_size", 140),
    (A.TestRunAttr, "ctx_out", 56),
    (A.TestRunAttr, "batch_size", 72),
    (A.RawTracepointAttr, "cookie", 16),
    (A.BTFLoadAttr, "btf_log_true_size", 28),
    (A.LinkCreateAttr, "opts", 16),
    (I.ProgInfoStruct, "name", 64),
    (I.ProgInfoStruct, "netns_dev", 88),
    (I.ProgInfoStruct, "run_time_ns", 192),
    (I.ProgInfoStruct, "attach_btf_id", 224),
    (I.MapInfoStruct, "map_extra", 80),
])
def test_field_offsets(cls, field, offset):
    assert getattr(cls, field).offset == offset


def test_link_create_union_members():
    u = A._LinkCreateUnion
    assert ctypes.sizeof(u) == 48
    assert A._UprobeMultiOpts.pid.offset == 40
    assert A._KprobeMultiOpts.cookies.offset == 24
    assert A._TracingLinkOpts.cookie.offset == 8
    assert A._RelativeLinkOpts.expected_revision.offset == 8


def test_enum_values():
    assert C.Cmd.PROG_LOAD == 5 and C.Cmd.LINK_DETACH == 34 and C.Cmd.PROG_RUN == 10
    assert C.MapType.RINGBUF == 27 and C.MapType.ARENA == 33
    assert C.MapType(19).name == "CGROUP_STORAGE"
    assert C.ProgType.TRACING == 26 and C.ProgType.NETFILTER == 32
    assert C.AttachType.TRACE_FENTRY == 24 and C.AttachType.TCX_INGRESS == 46
    assert C.AttachType.TRACE_UPROBE_MULTI == 48
    assert C.LinkType.UPROBE_MULTI == 12
    assert C.MapFlags.MMAPABLE == 1024 and C.ProgFlags.SLEEPABLE == 16


def test_cmd_name():
    assert cmd_name(C.Cmd.MAP_CREATE) == "BPF_MAP_CREATE"
    assert cmd_name(10) == "BPF_PROG_TEST_RUN"
    assert cmd_name(999) == "bpf(cmd=999)"
    assert cmd_name(-1) == "bpf(cmd=-1)"


@pytest.mark.parametrize("text,cpus", [
    ("0\n", [0]), ("0-3\n", [0, 1, 2, 3]), ("0-1,4,6-7", [0, 1, 4, 6, 7]), ("", []),
])
def test_parse_cpu_list(text, cpus):
    assert parse_cpu_list(text) == cpus


def test_typed_errors_name_command():
    from pybpf.errors import syscall_error
    e = syscall_error("BPF_MAP_CREATE", errno.EPERM, "map 'x'")
    assert isinstance(e, PermissionDeniedError) and e.cmd == "BPF_MAP_CREATE"
    assert str(e).startswith("BPF_MAP_CREATE:") and "map 'x'" in str(e)
    assert isinstance(syscall_error("BPF_OBJ_GET", errno.ENOENT), NotFoundError)
