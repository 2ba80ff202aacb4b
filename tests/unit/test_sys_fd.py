"""FD ownership, object names, buffer pinning and Map's key/value encoding (no kernel)."""
from __future__ import annotations

import ctypes
import os
import struct

import pytest

from pybpf.errors import BadFDError
from pybpf.maps import Map
from pybpf.sys import FD, object_name
from pybpf.sys.commands import _Pins
from pybpf.uapi import MapType


@pytest.fixture
def pipe_fd():
    r, w = os.pipe()
    os.close(w)
    fd = FD(r)
    yield fd
    fd.close()


def test_fd_close_is_idempotent(pipe_fd):
    raw = pipe_fd.fileno()
    pipe_fd.close()
    pipe_fd.close()
    assert pipe_fd.closed and repr(pipe_fd) == "FD(closed)"
    with pytest.raises(BadFDError):
        int(pipe_fd)
    with pytest.raises(OSError):
        os.fstat(raw)


def test_fd_dup_is_cloexec_and_independent(pipe_fd):
    dup = pipe_fd.dup()
    assert dup.fileno() != pipe_fd.fileno()
    assert not os.get_inheritable(dup.fileno())
    dup.close()
    os.fstat(pipe_fd.fileno())


def test_fd_context_manager_and_release():
    r, w = os.pipe()
    with FD(r) as fd:
        assert fd.fileno() == r == int(fd)
    assert fd.closed
    owner = FD(w)
    raw = owner.release()
    assert owner.closed
    os.close(raw)


def test_fd_rejects_negative():
    with pytest.raises(ValueError):
        FD(-1)


@pytest.mark.parametrize("name,want", [
    ("events", "events"),
    ("my-prog:v2", "myprogv2"),
    (".rodata", ".rodata"),
    ("obj_name.rodata.str1.1", "obj_name.rodata"),
    ("héllo wörld", "hllowrld"),
])
def test_object_name(name, want):
    assert object_name(name) == want
    assert len(object_name(name)) <= 15


def test_pins_addresses_point_at_the_data():
    pins = _Pins()
    data = b"\x01\x02\x03\x04"
    addr = pins.ro(data)
    assert ctypes.string_at(addr, 4) == data
    out = bytearray(4)
    waddr = pins.rw(out)
    ctypes.memmove(waddr, b"abcd", 4)
    assert out == b"abcd"
    assert pins.ro(None) == 0 and pins.ro(b"") == 0
    with pytest.raises(TypeError):
        pins.rw(b"read-only")


def _map(pipe_fd, mtype=MapType.HASH, ks=4, vs=8, **kw):
    return Map(pipe_fd, "enc", mtype, ks, vs, 16, **kw)


def test_key_value_encoding(pipe_fd):
    m = _map(pipe_fd)
    assert m._key(5) == struct.pack("=I", 5)
    assert m._key(b"\0\0\0\1") == b"\0\0\0\1"
    assert m._value(-1) == b"\xff" * 8
    with pytest.raises(ValueError, match="key is 2 bytes"):
        m._key(b"ab")
    with pytest.raises(TypeError):
        m._value(1.5)


def test_percpu_values_are_padded_to_8(pipe_fd):
    m = _map(pipe_fd, MapType.PERCPU_ARRAY, 4, 4)
    raw = m._value([c for c in range(m.ncpus)])
    assert len(raw) == 8 * m.ncpus
    assert m._decode_value(raw) == [struct.pack("=I", c) for c in range(m.ncpus)]
    with pytest.raises(ValueError, match="per-CPU"):
        m._value(1)


def test_fd_valued_maps_take_fd_owners(pipe_fd):
    m = _map(pipe_fd, MapType.PROG_ARRAY, 4, 4)
    assert m._value(pipe_fd) == struct.pack("=I", pipe_fd.fileno())
    with pytest.raises(TypeError):
        _map(pipe_fd)._value(pipe_fd)  # a hash map's value is data, not an fd


def test_keyless_maps_take_none(pipe_fd):
    m = _map(pipe_fd, MapType.QUEUE, 0, 8)
    assert m._key(None) is None
    with pytest.raises(ValueError, match="no keys"):
        m._key(1)
