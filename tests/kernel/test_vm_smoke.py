"""vmtests smoke test: the guest kernel has what every other in-guest test assumes.

Runs on the host too. In a vmtests guest (PYBPF_VMTESTS_GUEST=1) it is the
first sign that the guest booted the intended kernel with BTF and bpffs; with
``-rA`` its output names the kernel.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from pybpf import sys as bsys
from pybpf.uapi import MapType

pytestmark = pytest.mark.vm

BTF_MAGIC = 0xEB9F


def _mounts() -> dict:
    with open("/proc/self/mounts") as fh:
        return {fields[1]: fields[2] for fields in (line.split() for line in fh)}


def test_reports_uname():
    uname = os.uname()
    print(f"kernel {uname.release} {uname.version}")
    assert uname.sysname == "Linux"
    if os.environ.get("PYBPF_VMTESTS_GUEST"):
        assert os.getpid() != 1


def test_kernel_btf_present():
    path = Path("/sys/kernel/btf/vmlinux")
    assert path.exists(), f"{os.uname().release} has no {path}"
    with open(path, "rb") as fh:
        magic, version = struct.unpack("<HB", fh.read(3))
    assert magic == BTF_MAGIC
    assert version == 1


def test_bpffs_mounted():
    assert _mounts().get("/sys/fs/bpf") == "bpf"


def test_array_map_roundtrip(unique_name):
    with bsys.map_create(MapType.ARRAY, 4, 8, 4, name=unique_name("vm")) as fd:
        key = struct.pack("<I", 2)
        bsys.map_update_elem(fd, key, struct.pack("<Q", 0x1122334455667788))
        out = bytearray(8)
        assert bsys.map_lookup_elem(fd, key, out)
        assert struct.unpack("<Q", out)[0] == 0x1122334455667788
        assert bsys.map_lookup_elem(fd, struct.pack("<I", 0), out)
        assert bytes(out) == bytes(8)
