"""Kernel and user-space symbolisation and folded stacks (no root needed)."""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys

import pytest

from pybpf_gadgets.common.symbolize import ElfSymbols, KernelSymbols, ProcessSymbols, elf_symbols, folded, parse_maps

KALLSYMS = """\
ffffffff81000000 T _stext
ffffffff81000100 t do_one
ffffffff81000200 T do_two
ffffffff81000280 d some_data
ffffffff81000300 W weak_fn
ffffffffc0000000 t mod_fn\t[mymod]
"""


def test_kernel_bisect():
    ks = KernelSymbols(KALLSYMS)
    assert len(ks) == 5  # data symbol skipped
    assert ks.resolve(0xffffffff81000100).name == "do_one"
    sym = ks.resolve(0xffffffff81000234)
    assert (sym.name, sym.offset) == ("do_two", 0x34)
    assert ks.resolve(0xffffffff81000300).name == "weak_fn"
    assert ks.resolve(0xffffffffc0000010).name == "mod_fn [mymod]"
    assert ks.resolve(0x1000) is None


def test_kernel_hidden_addresses_resolve_nothing():
    ks = KernelSymbols("0000000000000000 T _stext\n0000000000000000 T foo\n")
    assert len(ks) == 0 and ks.resolve(0xffffffff81000000) is None


def test_real_kallsyms_loads():
    ks = KernelSymbols.load()
    assert isinstance(len(ks), int)


def test_parse_maps_keeps_executable_files():
    text = (
        "55d0c0000000-55d0c0001000 r--p 00000000 fd:00 12 /usr/bin/x\n"
        "55d0c0001000-55d0c0005000 r-xp 00001000 fd:00 12 /usr/bin/x\n"
        "7ffd0000-7ffd1000 r-xp 00000000 00:00 0 [vdso]\n"
        "7f000000-7f001000 r-xp 00002000 fd:00 13 /lib/y.so (deleted)\n")
    maps = parse_maps(text)
    assert [(m.start, m.offset, m.path) for m in maps] == [
        (0x7f000000, 0x2000, "/lib/y.so"), (0x55d0c0001000, 0x1000, "/usr/bin/x")]


def test_own_libc_function_resolves():
    libc = ctypes.CDLL(None)
    addr = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    proc = ProcessSymbols.for_pid(os.getpid())
    sym = proc.resolve(addr)
    assert sym is not None and sym.name.lstrip("_") == "getpid" and sym.offset == 0
    assert proc.resolve(addr + 1).offset == 1
    assert proc.resolve(8) is None


def test_elf_cache_shares_parsed_file():
    exe = os.path.realpath(sys.executable)
    assert elf_symbols(exe) is elf_symbols(exe)


def test_folded_lines():
    lines = folded([
        ("busy", ["leaf", "mid", "main"], ["k_leaf", "k_entry"], 3),
        ("busy", ["leaf", "mid", "main"], ["k_leaf", "k_entry"], 2),
        ("my prog", ["a;b"], [], 1),
    ])
    assert lines == ["busy;main;mid;leaf;k_entry_[k];k_leaf_[k] 5", "my_prog;a_b 1"]


@pytest.mark.skipif(not all(shutil.which(t) for t in ("cc", "objcopy", "strip")),
                    reason="needs cc, objcopy and strip to build a stripped binary")
def test_stripped_binary_uses_its_separate_debug_file(tmp_path):
    src = tmp_path / "p.c"
    src.write_text("static int hidden_helper(int x) { return x * 3; }\n"
                   "int (*keep)(int) = hidden_helper;\nint main(void) { return keep(1); }\n")
    exe = tmp_path / "p"
    subprocess.run(["cc", "-O0", "-g", "-Wl,--build-id", "-o", str(exe), str(src)], check=True)
    full = ElfSymbols.from_file(str(exe))
    assert "hidden_helper" in full.table.names and full.build_id
    bid = full.build_id
    debug = tmp_path / "debug" / ".build-id" / bid[:2] / (bid[2:] + ".debug")
    debug.parent.mkdir(parents=True)
    subprocess.run(["objcopy", "--only-keep-debug", str(exe), str(debug)], check=True)
    subprocess.run(["strip", "--strip-all", str(exe)], check=True)
    assert "hidden_helper" not in ElfSymbols.from_file(str(exe), debug_root="/nonexistent").table.names
    merged = ElfSymbols.from_file(str(exe), debug_root=str(tmp_path / "debug"))
    assert "hidden_helper" in merged.table.names
