"""struct_ops without a kernel: reading the object's variables, laying out the kernel's value."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.btf import Builder
from pybpf.btf.types import Array, FuncProto, Int, Member, Ptr, Struct
from pybpf.elf import ObjectSpec
from pybpf.errors import LoadError
from pybpf.linker import struct_ops
from pybpf.uapi import MapFlags, MapType

OBJECTS = Path(__file__).resolve().parents[2] / "bpf" / "objects"
PROGS = {"ssthresh": "pybpf_ssthresh", "cong_avoid": "pybpf_cong_avoid",
         "undo_cwnd": "pybpf_undo_cwnd"}


def test_variables_become_struct_ops_maps():
    legacy = ObjectSpec.from_file(OBJECTS / "struct_ops_ca.bpf.o")
    linked = ObjectSpec.from_file(OBJECTS / "struct_ops_link.bpf.o")
    old, new = legacy.struct_ops["pybpf_reno_old"], linked.struct_ops["pybpf_reno"]
    assert (old.type_name, old.link, old.programs) == ("tcp_congestion_ops", False, PROGS)
    assert (new.type_name, new.link, new.programs) == ("tcp_congestion_ops", True, PROGS)
    assert bytes(new.data[88:104]).rstrip(b"\0") == b"pybpf_reno"
    m = linked.maps["pybpf_reno"]
    assert (m.type, m.key_size, m.max_entries, m.flags) == (MapType.STRUCT_OPS, 4, 1,
                                                            MapFlags.LINK)
    assert legacy.maps["pybpf_reno_old"].flags == 0


def fake_kernel(name_size: int = 16):
    """A kernel whose tcp_congestion_ops has fewer members, in another order."""
    b = Builder()
    u32 = b.add(Int("unsigned int", 4))
    char = b.add(Int("char", 1, 0))
    fptr = b.add(Ptr(b.add(FuncProto(u32, []))))
    name = b.add(Array(char, u32, name_size))
    ops = b.add(Struct("tcp_congestion_ops", 56, [
        Member("name", name, 0), Member("flags", u32, 128), Member("undo_cwnd", fptr, 192),
        Member("ssthresh", fptr, 256), Member("cong_avoid", fptr, 320),
        Member("set_state", fptr, 384)]))
    wrapper = b.add(Struct("bpf_struct_ops_tcp_congestion_ops", 72, [
        Member("refcnt", b.add(Int("long", 8)), 0), Member("data", ops, 64)]))
    return b.to_spec(), ops, wrapper


def test_kernel_value_places_members_by_name():
    spec = ObjectSpec.from_file(OBJECTS / "struct_ops_link.bpf.o")
    ops = spec.struct_ops["pybpf_reno"]
    vmlinux, ops_id, wrapper_id = fake_kernel()
    kern = struct_ops.kernel_struct_ops("x", vmlinux, "tcp_congestion_ops")
    assert kern == struct_ops.KernelStructOps(ops_id, wrapper_id, 72, 8)
    targets = struct_ops.program_targets("x", ops, vmlinux, kern)
    assert targets == {"pybpf_undo_cwnd": (ops_id, 2), "pybpf_ssthresh": (ops_id, 3),
                       "pybpf_cong_avoid": (ops_id, 4)}
    fds = {"pybpf_ssthresh": 11, "pybpf_cong_avoid": 12, "pybpf_undo_cwnd": 13}
    value = struct_ops.kernel_value("x", ops, spec.btf, vmlinux, kern, fds)
    assert len(value) == 72 and value[:8] == bytes(8)
    assert value[8:24].rstrip(b"\0") == b"pybpf_reno"
    assert struct.unpack_from("<QQQQ", value, 8 + 24) == (13, 11, 12, 0)


def test_kernel_layout_refusals():
    spec = ObjectSpec.from_file(OBJECTS / "struct_ops_link.bpf.o")
    ops = spec.struct_ops["pybpf_reno"]
    vmlinux, _, _ = fake_kernel(name_size=8)
    kern = struct_ops.kernel_struct_ops("x", vmlinux, "tcp_congestion_ops")
    with pytest.raises(LoadError, match="member 'name': 16 bytes here, 8 in the kernel"):
        struct_ops.kernel_value("x", ops, spec.btf, vmlinux, kern, {p: 1 for p in PROGS.values()})
    with pytest.raises(LoadError, match="'sched_ext_ops' is not a struct_ops type"):
        struct_ops.kernel_struct_ops("x", vmlinux, "sched_ext_ops")
