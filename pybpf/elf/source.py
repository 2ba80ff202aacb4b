"""Opening the one file the ELF reader is handed: bounded before it is read.

Owns the input checks of ``ObjectSpec.from_file``: the path must name a
regular file (not a FIFO, device, directory or socket; symlinks to one are
followed, loops are reported), no larger than ``MAX_OBJECT_SIZE``; its bytes
are mapped privately and read-only rather than copied. The file is opened
with O_NONBLOCK so that a FIFO cannot block the open itself. Every refusal
is an ELFError naming the file. Nothing else is opened.
"""
from __future__ import annotations

import mmap
import os
import stat
from contextlib import contextmanager
from typing import Iterator, Union

from pybpf.errors import ELFError

MAX_OBJECT_SIZE = 256 << 20  # clang's largest BPF objects are a few MiB
MAX_NOBITS_SIZE = 256 << 20  # a .bss larger than this is refused, never allocated

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


@contextmanager
def mapped_object(path: str) -> Iterator[Union[bytes, mmap.mmap]]:
    """The content of the object file at ``path``, mapped for the ``with`` block."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise ELFError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ELFError(f"{path}: not a BPF object: {_kind(st.st_mode)}, "
                           f"a regular file is needed")
        if st.st_size > MAX_OBJECT_SIZE:
            raise ELFError(f"{path}: {st.st_size} bytes is larger than the "
                           f"{MAX_OBJECT_SIZE >> 20} MiB limit for a BPF object")
        if st.st_size == 0:
            yield b""
            return
        try:
            data = mmap.mmap(fd, st.st_size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
        except OSError as exc:
            raise ELFError(f"{path}: cannot map: {exc.strerror}") from None
        try:
            yield data
        finally:
            data.close()
    finally:
        os.close(fd)
