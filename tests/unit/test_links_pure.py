"""Pure pieces of pybpf.links and pybpf.sys.perf: netlink message layout,
uprobe symbol-to-offset resolution, auto-attach decisions, perf_event_attr."""
from __future__ import annotations

import ctypes
import shutil
import socket
import struct
import subprocess
from dataclasses import dataclass

import pytest

from pybpf.errors import LinkError, MissingHookError
from pybpf.links import can_auto_attach
from pybpf.links.auto import attach
from pybpf.links.netlink import (
    NLA_F_NESTED,
    NLATTR,
    NLMSGERR_ERROR,
    NLMSGHDR,
    TCA_OPTIONS,
    TcFilter,
    attr,
    clsact_parent,
    tcmsg,
    u32_attr,
)
from pybpf.links.uprobe_target import (
    function_offsets,
    resolve_binary,
    split_symbol,
    symbol_offset,
)
from pybpf.sys.perf import PerfEventAttr


def test_netlink_attribute_is_padded_to_four_bytes():
    encoded = attr(1, b"bpf\0")
    assert encoded == struct.pack("=HH", 8, 1) + b"bpf\0"
    encoded = attr(7, b"ab\0")
    assert struct.unpack_from("=HH", encoded) == (7, 7) and len(encoded) == 8
    nested = attr(TCA_OPTIONS | NLA_F_NESTED, attr(6, struct.pack("=I", 9)))
    assert struct.unpack_from("=HH", nested) == (12, TCA_OPTIONS | NLA_F_NESTED)


def test_netlink_layouts_read_kernel_bytes():
    # an NLMSG_ERROR answer to request 7 as the kernel writes it: nlmsghdr, then
    # struct nlmsgerr (negated errno, then the request's header)
    reply = struct.pack("=IHHII", 36, 2, 0x100, 7, 4242) + struct.pack("=i", -17) + bytes(16)
    hdr = NLMSGHDR.parse(reply)
    assert (hdr.len, hdr.type, hdr.flags, hdr.seq, hdr.pid) == (36, 2, 0x100, 7, 4242)
    assert NLMSGERR_ERROR.parse(reply[16:20]) == -17
    # attributes: length without padding, payload cut at it, parse(build) round trip
    raw = struct.pack("=HH", 7, 7) + b"ab\0" + b"\0"
    parsed = NLATTR.parse(raw)
    assert (parsed.len, parsed.type, parsed.payload) == (7, 7, b"ab\0")
    assert attr(7, b"ab\0") == raw
    assert u32_attr(6, 9) == struct.pack("=HHI", 8, 6, 9)


def test_tcmsg_and_clsact_handles():
    assert clsact_parent("ingress") == 0xFFFFFFF2
    assert clsact_parent("egress") == 0xFFFFFFF3
    with pytest.raises(ValueError):
        clsact_parent("up")
    flt = TcFilter(ifindex=3, parent=clsact_parent("ingress"), priority=2, handle=1)
    assert flt.info == (2 << 16) | socket.htons(0x0003)
    msg = tcmsg(3, 1, flt.parent, flt.info)
    assert len(msg) == 20
    assert struct.unpack("=BxxxiIII", msg) == (socket.AF_UNSPEC, 3, 1, 0xFFFFFFF2, flt.info)


def test_perf_event_attr_layout():
    assert ctypes.sizeof(PerfEventAttr) == 136
    offsets = {name: getattr(PerfEventAttr, name).offset for name, _ in PerfEventAttr._fields_}
    assert offsets["config"] == 8 and offsets["sample_type"] == 24
    assert offsets["flags"] == 40 and offsets["wakeup_events"] == 48
    assert offsets["config1"] == 56 and offsets["config2"] == 64 and offsets["config3"] == 128


def test_split_symbol():
    assert split_symbol("main") == ("main", 0)
    assert split_symbol("main+0x10") == ("main", 16)
    assert split_symbol("f+8") == ("f", 8)


def test_resolve_binary():
    libc = resolve_binary("libc.so.6")
    assert libc.startswith("/") and "libc" in libc
    assert resolve_binary("sh").startswith("/")
    with pytest.raises(MissingHookError, match="nosuchlib"):
        resolve_binary("libnosuchlib.so.1")
    with pytest.raises(MissingHookError, match="/no/such/file"):
        resolve_binary("/no/such/file")


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("readelf") is None,
                    reason="needs gcc and readelf")
def test_symbol_offset_matches_readelf(tmp_path):
    src = tmp_path / "t.c"
    src.write_text("__attribute__((noinline)) int probe_me(int x) { return x * 3; }\n"
                   "int main(int c, char **v) { return probe_me(c); }\n")
    exe = tmp_path / "t"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(src)], check=True)
    syms = subprocess.run(["readelf", "-Ws", str(exe)], capture_output=True, text=True).stdout
    value = next(int(line.split()[1], 16) for line in syms.splitlines()
                 if line.split()[-1:] == ["probe_me"])
    sections = subprocess.run(["readelf", "-WS", str(exe)], capture_output=True, text=True).stdout
    text = next(line for line in sections.splitlines() if " .text " in line).split()
    idx = text.index(".text")
    addr, off = int(text[idx + 2], 16), int(text[idx + 3], 16)
    assert symbol_offset(str(exe), "probe_me") == value - addr + off
    assert function_offsets(str(exe), "probe_*") == {"probe_me": value - addr + off}
    with pytest.raises(MissingHookError, match="not_there"):
        symbol_offset(str(exe), "not_there")


@dataclass
class FakeProg:
    name: str
    section: str
    attach_to: str = ""
    fd: int = -1
    expected_attach_type: int = 0


@pytest.mark.parametrize("section,auto", [
    ("tracepoint/syscalls/sys_enter_openat", True),
    ("tp/sched/sched_switch", True),
    ("raw_tp/sys_enter", True),
    ("tp_btf/sched_process_exec", True),
    ("fentry/do_unlinkat", True),
    ("lsm/file_open", True),
    ("iter/task", True),
    ("kprobe/do_nanosleep", True),
    ("kprobe", False),
    ("ksyscall/openat", True),
    ("uprobe//usr/bin/bash:readline", True),
    ("uprobe", False),
    ("uprobe.multi//usr/lib/libc.so.6:malloc*", True),
    ("uprobe.multi", False),
    ("perf_event", False),
    ("cgroup/connect4", False),
    ("socket", False),
    ("tc", False),
    ("tcx/ingress", False),
    ("xdp", False),
    ("freplace/handler", False),
    ("license", False),
])
def test_can_auto_attach_like_libbpf(section, auto):
    assert can_auto_attach(FakeProg("p", section)) is auto


def test_attach_refuses_unknown_sections_and_missing_options():
    with pytest.raises(LinkError, match="no attach method"):
        attach(FakeProg("p", "sk_lookup"))
    with pytest.raises(LinkError, match="needs sock="):
        attach(FakeProg("p", "socket"))
    with pytest.raises(LinkError, match="CATEGORY/NAME"):
        attach(FakeProg("p", "tracepoint/justone"))
