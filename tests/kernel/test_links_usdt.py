"""USDT through libbpf's usdt.bpf.h: real probes fire and the BPF side reads their arguments.

CPython 3.11 (Debian's /usr/bin/python3.11) has python:function__entry behind a
semaphore: the program counts the function names it reads from the probe's
arguments while a script runs. A PIE executable and a shared library built here
from tests/kernel/data (gcc + <sys/sdt.h>) check every argument location kind
(register, memory, constant), sign extension of 1/2/4-byte arguments, the
semaphore (raised while attached, for a process already running too), the
cookie, and that closing the links gives everything back.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import pybpf
from pybpf.elf.notes import read_probes
from pybpf.errors import LinkError, MissingHookError
from pybpf.links import attach_usdt
from pybpf.sys import commands as cmds

ROOT = Path(__file__).resolve().parents[2]
OBJ = pybpf.arch_object(ROOT / "bpf" / "objects" / "links_usdt.bpf.o")
DATA = Path(__file__).resolve().parent / "data"
PYTHON = "/usr/bin/python3.11"
SDT_H = ("/usr/include/sys/sdt.h", "/usr/include/x86_64-linux-gnu/sys/sdt.h",
         "/usr/include/aarch64-linux-gnu/sys/sdt.h")

SCRIPT = """
import sys
def pybpf_usdt_target(i):
    return i
async def pybpf_usdt_coro():
    return 0
sys.stdin.readline()
sys.setprofile(lambda *a: None)   # CPython 3.11 fires function__entry on its traced path
for i in range(17):
    pybpf_usdt_target(i)
sys.setprofile(None)
for i in range(5):
    pybpf_usdt_coro().close()     # ... and when a coroutine is created
"""


def bss(coll, spec, name: str) -> bytes:
    """The current bytes of global variable ``name`` (read raw from the .bss map)."""
    var = spec.variables.info(name)
    m = coll.maps[var.section]
    buf = ctypes.create_string_buffer(m.value_size)
    cmds.map_lookup_elem(m.fd, b"\0\0\0\0", buf)
    return buf.raw[var.offset:var.offset + var.size]


def counts(coll) -> dict:
    m = coll.maps["entries"]
    buf = ctypes.create_string_buffer(8)
    out = {}
    for key in m.iter_raw_keys():
        cmds.map_lookup_elem(m.fd, key, buf)
        out[key.rstrip(b"\0").decode()] = struct.unpack("<Q", buf.raw)[0]
    return out


def semaphore(pid: int, path: str, name: str) -> int:
    """The probe's semaphore as process ``pid`` sees it (via its mapping of ``path``)."""
    (site,) = [s for s in read_probes(path)[1] if s.provider + ":" + s.name == name]
    with open(f"/proc/{pid}/maps") as fh:
        for line in fh:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == path:
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                off = int(fields[2], 16)
                if off <= site.semaphore_offset < off + (hi - lo):
                    with open(f"/proc/{pid}/mem", "rb") as mem:
                        mem.seek(lo + site.semaphore_offset - off)
                        return struct.unpack("<H", mem.read(2))[0]
    raise AssertionError(f"{path} semaphore not mapped in {pid}")


@pytest.mark.skipif(not os.access(PYTHON, os.X_OK), reason=f"{PYTHON} missing")
def test_python_function_entry_counted_by_name():
    spec = pybpf.ObjectSpec.from_file(OBJ)
    child = subprocess.Popen([PYTHON, "-c", SCRIPT], stdin=subprocess.PIPE)
    try:
        spec.constants["target_pid"] = child.pid
        with pybpf.load(spec, programs=["function_entry"]) as coll:
            with coll.attach_all() as links:   # SEC("usdt//usr/bin/python3.11:python:...")
                assert [link.kind for link in links] == ["usdt"]
                assert semaphore(child.pid, PYTHON, "python:function__entry") == 1
                child.communicate(b"go\n", timeout=60)
            got = counts(coll)
            assert got.get("pybpf_usdt_target") == 17, got
            assert got.get("pybpf_usdt_coro") == 5, got
            assert struct.unpack("<q", bss(coll, spec, "last_lineno"))[0] == 5  # coro's line
            assert struct.unpack("<Q", bss(coll, spec, "last_cookie"))[0] == 0
    finally:
        child.kill()
        child.wait()


@pytest.fixture(scope="module")
def sdt_binaries(tmp_path_factory):
    if shutil.which("gcc") is None or not any(os.path.exists(p) for p in SDT_H):
        pytest.skip("needs gcc and <sys/sdt.h> (systemtap-sdt-dev)")
    out = tmp_path_factory.mktemp("usdt")
    lib, exe = out / "libpybpfusdt.so", out / "usdt_main"
    subprocess.run(["gcc", "-O2", "-fPIC", "-shared", "-o", lib, DATA / "usdt_lib.c"],
                   check=True)
    # -O0 keeps the arguments in memory (REG_DEREF specs); the library's -O2 uses registers
    subprocess.run(["gcc", "-O0", "-fPIE", "-pie", "-o", exe, DATA / "usdt_main.c", "-L", out,
                    "-lpybpfusdt", f"-Wl,-rpath,{out}"], check=True)
    return exe, lib


def run_main(exe, n: int) -> int:
    out = subprocess.run([exe], input=f"{n}\n", capture_output=True, text=True, timeout=60,
                         check=True)
    return int(out.stdout)


def test_pie_arguments_semaphore_and_cookie(sdt_binaries):
    exe, _ = sdt_binaries
    spec = pybpf.ObjectSpec.from_file(OBJ)
    with pybpf.load(spec, programs=["sdt_probe"]) as coll:
        prog = coll.programs["sdt_probe"]
        assert run_main(exe, 2) == 0  # nobody attached: semaphore down
        with attach_usdt(prog, str(exe), "pybpf_test", "probe", cookie=0xC0FFEE):
            assert run_main(exe, 3) == 3
        assert run_main(exe, 2) == 0  # detached: down again
        args = struct.unpack("<5q", bss(coll, spec, "sdt_args"))
        assert args[:4] == (0x123456789A + 2, -42, -7, 99)  # last of 3 iterations
        assert args[4] != 0  # an address (the line buffer)
        assert struct.unpack("<q", bss(coll, spec, "sdt_arg_cnt"))[0] == 5
        assert struct.unpack("<Q", bss(coll, spec, "sdt_cookie"))[0] == 0xC0FFEE
        assert struct.unpack("<Q", bss(coll, spec, "sdt_hits"))[0] == 3


def test_shared_library_by_pid_only(sdt_binaries):
    exe, lib = sdt_binaries
    spec = pybpf.ObjectSpec.from_file(OBJ)
    with pybpf.load(spec, programs=["sdt_probe"]) as coll:
        prog = coll.programs["sdt_probe"]
        target = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        try:
            with attach_usdt(prog, str(lib), "pybpf_test", "probe", pid=target.pid) as links:
                assert "pid" in links[0].target
                assert run_main(exe, 4) == 0   # another process: not traced
                out, _ = target.communicate("6\n", timeout=60)
        finally:
            target.kill()
            target.wait()
        assert struct.unpack("<Q", bss(coll, spec, "sdt_hits"))[0] == 6
        args = struct.unpack("<5q", bss(coll, spec, "sdt_args"))
        assert args == (5, -1, 2, 3, 10)  # the library's last call: v=5


def test_two_attachments_share_the_spec_map(sdt_binaries):
    """Each site gets its own spec id (cookie) in the collection's map: closing one
    attachment leaves the other's spec alone, and a closed one's id is taken again."""
    exe, lib = sdt_binaries
    spec = pybpf.ObjectSpec.from_file(OBJ)

    def fire():
        run_main(exe, 1)  # the executable's probe, then the library's
        return (struct.unpack("<Q", bss(coll, spec, "sdt_hits"))[0],
                struct.unpack("<Q", bss(coll, spec, "sdt_cookie"))[0])

    with pybpf.load(spec, programs=["sdt_probe"]) as coll:
        prog = coll.programs["sdt_probe"]
        with attach_usdt(prog, str(exe), "pybpf_test", "probe", cookie=1):
            with attach_usdt(prog, str(lib), "pybpf_test", "probe", cookie=2):
                assert fire() == (2, 2)
            assert fire() == (3, 1)
            for cookie in (3, 4):  # ids given back on close are reused, not leaked
                with attach_usdt(prog, str(lib), "pybpf_test", "probe", cookie=cookie):
                    assert fire()[1] == cookie


def test_refusals(sdt_binaries):
    exe, _ = sdt_binaries
    spec = pybpf.ObjectSpec.from_file(OBJ)
    with pybpf.load(spec, programs=["sdt_probe"]) as coll:
        prog = coll.programs["sdt_probe"]
        with pytest.raises(MissingHookError, match="no USDT probe pybpf_test:nope"):
            attach_usdt(prog, str(exe), "pybpf_test", "nope")
        with pytest.raises(MissingHookError, match="does not exist"):
            attach_usdt(prog, "/nonexistent/bin", "p", "n")
        with pytest.raises(LinkError, match=r"program 'sdt_probe': SEC\('usdt'\) needs binary="):
            pybpf.links.attach(prog)
    with pybpf.load(ROOT / "bpf" / "objects" / "minimal.bpf.o") as other:
        (plain,) = other.programs.values()
        with pytest.raises(LinkError, match="no '__bpf_usdt_specs' map"):
            attach_usdt(plain, str(exe), "pybpf_test", "probe")
