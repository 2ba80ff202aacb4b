"""Program against the real kernel: load, verifier errors with logs, pin, test_run."""
from __future__ import annotations

import errno
import os
import struct

import pytest

from pybpf import features
from pybpf.errors import NotFoundError, VerifierError
from pybpf.maps import Map
from pybpf.programs import Program
from pybpf.uapi import MapType, ProgType


def ins(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, dst | (src << 4), off, imm)


def ld_map_fd(dst, fd):
    return ins(0x18, dst, 1, 0, fd) + ins(0, 0, 0, 0, 0)


MOV64_IMM, MOV64_REG, ADD64_IMM, EXIT, CALL = 0xb7, 0xbf, 0x07, 0x95, 0x85
RET = lambda v: ins(MOV64_IMM, 0, 0, 0, v) + ins(EXIT)  # noqa: E731


def test_load_and_test_run(unique_name):
    name = unique_name("p")
    with Program.load(name, ProgType.SOCKET_FILTER, RET(7), "GPL") as prog:
        assert prog.name == name and prog.prog_type == ProgType.SOCKET_FILTER
        info = prog.info()
        assert info.name == name and info.type == ProgType.SOCKET_FILTER
        assert prog.id == info.id > 0
        assert len(prog.tag) == 16 and int(prog.tag, 16) >= 0
        res = prog.test_run(b"\0" * 64, repeat=3)
        assert res.retval == 7
        assert prog.xlated()  # the kernel's rewrite of our two instructions
    assert prog.closed


def test_name_is_sanitised_for_the_kernel():
    with Program.load("my-prog:with/odd chars_and_long", ProgType.SOCKET_FILTER, RET(0),
                      "GPL") as prog:
        assert prog.name == "my-prog:with/odd chars_and_long"
        assert prog.info().name == "myprogwithoddch"


@pytest.mark.vm
def test_verifier_error_names_program_and_has_log_tail(unique_name):
    # kernels word and lay out their logs differently (7.x adds "Causal path:" and
    # "Suggestion:" sections): check the structure, not one kernel's wording
    name = unique_name("bad")
    with pytest.raises(VerifierError) as caught:
        Program.load(name, ProgType.SOCKET_FILTER, ins(EXIT), "GPL")  # exit with R0 unset
    exc = caught.value
    assert exc.program == name
    assert exc.errno == errno.EACCES
    assert "R0" in exc.log  # every kernel names the unset register
    first, _, rest = str(exc).partition("\n")
    assert name in first and os.strerror(errno.EACCES) in first
    tail = rest.splitlines()
    log_lines = exc.log.rstrip().splitlines()
    # the refusal ends where the log ends, or where 7.x's explanatory sections begin
    end = next((i for i, line in enumerate(log_lines)
                if line.startswith(("Causal path:", "Suggestion:"))), len(log_lines))
    refusal = "\n".join(log_lines[:end]).rstrip().splitlines()
    assert tail and any(line.strip() for line in tail)
    assert refusal[-len(tail):] == tail  # the message ends with the kernel's refusal


@pytest.mark.vm
def test_verifier_log_larger_than_first_buffer_is_complete(unique_name):
    # ~5000 instructions at log level 2 make a log of several hundred KiB (> 64 KiB start)
    body = ins(MOV64_IMM, 0, 0, 0, 0) + ins(ADD64_IMM, 0, 0, 0, 1) * 5000
    bad = body + ins(0x79, 0, 2, 0, 0) + ins(EXIT)  # r0 = *(u64 *)(r2 + 0): r2 unset
    with pytest.raises(VerifierError) as caught:
        Program.load(unique_name("big"), ProgType.SOCKET_FILTER, bad, "GPL", log_level=2)
    log = caught.value.log
    assert caught.value.errno == errno.EACCES
    assert len(log) > 128 * 1024
    assert log.startswith("func#0") or log.startswith("0:")
    assert "R2 !read_ok" in log
    with Program.load(unique_name("big"), ProgType.SOCKET_FILTER, body + ins(EXIT), "GPL",
                      log_level=2) as prog:
        assert "processed 5002 insns" in prog.verifier_log


def test_bad_license_for_gpl_helper_is_verifier_error(unique_name):
    # bpf_trace_printk (6) is GPL-only; the error names the program
    prog = (ins(MOV64_REG, 1, 10) + ins(ADD64_IMM, 1, 0, 0, -8) + ins(0x7a, 10, 0, -8, 0)
            + ins(MOV64_IMM, 2, 0, 0, 8) + ins(CALL, 0, 0, 0, 6) + RET(0))
    with pytest.raises(VerifierError) as caught:
        Program.load(unique_name("lic"), ProgType.TRACEPOINT, prog, "Proprietary")
    assert "gpl" in caught.value.log.lower()


@pytest.mark.vm
def test_program_updates_map_through_helper(unique_name):
    with Map.new(MapType.HASH, 4, 8, 4, name=unique_name("m")) as m:
        insns = (ins(0x62, 10, 0, -4, 1)          # *(u32 *)(r10 - 4) = 1
                 + ins(0x7a, 10, 0, -16, 42)      # *(u64 *)(r10 - 16) = 42
                 + ld_map_fd(1, m.fileno())
                 + ins(MOV64_REG, 2, 10) + ins(ADD64_IMM, 2, 0, 0, -4)
                 + ins(MOV64_REG, 3, 10) + ins(ADD64_IMM, 3, 0, 0, -16)
                 + ins(MOV64_IMM, 4, 0, 0, 0)
                 + ins(CALL, 0, 0, 0, 2)          # bpf_map_update_elem
                 + RET(0))
        with Program.load(unique_name("upd"), ProgType.SOCKET_FILTER, insns, "GPL") as prog:
            assert prog.info().map_ids == [m.id]
            assert prog.test_run(b"\0" * 32).retval == 0
            assert m[1] == struct.pack("<Q", 42)


def test_pin_from_pin_from_id(pin_dir, unique_name):
    name = unique_name("pin")
    path = pin_dir / "prog"
    with Program.load(name, ProgType.SOCKET_FILTER, RET(1), "GPL") as prog:
        prog.pin(path)
        assert path.exists()
        with Program.from_pin(path) as again:
            assert again.id == prog.id and again.name == name
            assert again.prog_type == ProgType.SOCKET_FILTER
            assert again.test_run(b"\0" * 16).retval == 1
        with Program.from_id(prog.id) as by_id:
            assert by_id.tag == prog.tag
        prog.unpin()
        assert not path.exists()


def test_from_pin_missing_is_not_found(pin_dir):
    with pytest.raises(NotFoundError) as caught:
        Program.from_pin(pin_dir / "nothing")
    assert "BPF_OBJ_GET" in str(caught.value)
    assert str(pin_dir / "nothing") in str(caught.value)


def test_fd_array_accepted(unique_name):
    if not features.has_fd_array():
        pytest.skip(str(features.has_fd_array()))
    with Map.new(MapType.ARRAY, 4, 4, 1) as m:
        with Program.load(unique_name("fa"), ProgType.SOCKET_FILTER, RET(0), "GPL",
                          fd_array=[m.fd]) as prog:
            assert prog.test_run(b"\0" * 16).retval == 0


def test_no_fd_leak_on_failed_loads(unique_name):
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        with pytest.raises(VerifierError):
            Program.load(unique_name("x"), ProgType.SOCKET_FILTER, ins(EXIT), "GPL")
        Program.load(unique_name("y"), ProgType.SOCKET_FILTER, RET(0), "GPL").close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_blocked_fentry_is_eperm_with_empty_log(unique_name):
    from pybpf.uapi import AttachType
    if features.has_trampolines():
        pytest.skip("this kernel allows fentry")
    func = features._vmlinux_func_id("bpf_fentry_test1")
    if func is None:
        pytest.skip("no bpf_fentry_test1 in kernel BTF")
    name = unique_name("fe")
    with pytest.raises(VerifierError) as caught:
        Program.load(name, ProgType.TRACING, RET(0), "GPL",
                     expected_attach_type=AttachType.TRACE_FENTRY, attach_btf_id=func)
    exc = caught.value
    assert exc.errno == errno.EPERM and exc.program == name
    first = str(exc).splitlines()[0]
    assert name in first and "blocked" in first
    assert "(empty verifier log)" in str(exc)
