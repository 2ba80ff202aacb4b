"""Malformed and hostile inputs for `pybpf load` and ObjectSpec.from_file, built on demand.

Each case makes a path under a directory (a FIFO, a device, a sparse file, an
object whose .bss claims 32 GiB ...) and says what the one-line error must
mention. Shared by the unit suite (ObjectSpec.from_file) and the CLI suite.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Callable, Dict, Tuple

from elftools.elf.elffile import ELFFile

OBJECTS = Path(__file__).resolve().parent.parent / "bpf" / "objects"
SH_SIZE = 0x20  # offset of sh_size in an Elf64_Shdr


def shipped(name: str) -> Path:
    """A compiled object of bpf/objects by file name (wherever its arch puts it)."""
    return next(OBJECTS.rglob(name))


def with_nobits_size(size: int) -> bytes:
    """loader_data.bpf.o with its .bss (NOBITS) section claiming ``size`` bytes."""
    data = bytearray(shipped("loader_data.bpf.o").read_bytes())
    with open(shipped("loader_data.bpf.o"), "rb") as fh:
        elf = ELFFile(fh)
        index = next(i for i, s in enumerate(elf.iter_sections()) if s.name == ".bss")
        at = elf["e_shoff"] + index * elf["e_shentsize"] + SH_SIZE
    data[at:at + 8] = struct.pack("<Q", size)
    return bytes(data)


def _write(data: bytes) -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        path = where / "obj.bpf.o"
        path.write_bytes(data)
        return path
    return make


def _fifo(where: Path) -> Path:
    path = where / "fifo.bpf.o"
    os.mkfifo(path)
    return path


def _loop(where: Path) -> Path:
    path = where / "loop.bpf.o"
    os.symlink(path.name, path)
    return path


def _sparse(size: int) -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        path = where / "sparse.bpf.o"
        with open(path, "wb") as fh:
            fh.truncate(size)
        return path
    return make


def _directory(where: Path) -> Path:
    path = where / "dir.bpf.o"
    path.mkdir()
    return path


# name -> (make the input under a directory, a word the error must contain)
CASES: Dict[str, Tuple[Callable[[Path], Path], str]] = {
    "dev_zero": (lambda where: Path("/dev/zero"), "character device"),
    "dev_null": (lambda where: Path("/dev/null"), "character device"),
    "fifo": (_fifo, "FIFO"),
    "directory": (_directory, "directory"),
    "symlink_loop": (_loop, "symbolic links"),
    "missing": (lambda where: where / "missing.bpf.o", "No such file"),
    "sparse_2g": (_sparse(2 << 30), "limit"),
    "sparse_300m": (_sparse(300 << 20), "limit"),
    "bss_32g": (lambda where: _write(with_nobits_size(32 << 30))(where), "NOBITS"),
    "bss_1_5g": (lambda where: _write(with_nobits_size(3 << 29))(where), "NOBITS"),
    "empty": (_write(b""), "not an ELF"),
    "not_elf": (_write(b"#!/bin/sh\necho hello\n"), "not an ELF"),
    "truncated": (lambda where: _write(shipped("minimal.bpf.o").read_bytes()[:700])(where),
                  "malformed"),
}
