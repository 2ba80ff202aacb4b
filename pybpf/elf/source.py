"""Opening the one file a parser is handed: bounded before it is read.

Owns the input checks of ``ObjectSpec.from_file`` (and of BTF files given by
path, pybpf.core.kernel): the path must name a regular file (not a FIFO,
device, directory or socket; symlinks to one are followed, loops are
reported), no larger than a limit; its bytes are mapped privately and
read-only rather than copied. The file is opened with O_NONBLOCK so that a
FIFO cannot block the open itself. Every refusal is one error naming the
file (ELFError for objects). Nothing else is opened.
"""
from __future__ import annotations

import mmap
import os
import stat
from contextlib import contextmanager
from typing import Iterator, Type, Union

from pybpf.errors import BPFError, ELFError

MAX_OBJECT_SIZE = 256 << 20  # clang's largest BPF objects are a few MiB
MAX_BTF_FILE_SIZE = 2 << 30  # a vmlinux image with DWARF can be several hundred MiB
MAX_NOBITS_SIZE = 256 << 20  # a .bss larger than this is refused, never allocated

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def map_file(path: str, what: str = "a BPF object", limit: int = MAX_OBJECT_SIZE,
             error: Type[BPFError] = ELFError) -> Union[bytes, mmap.mmap]:
    """The content of the regular file at ``path``, mapped read-only (b"" if empty);
    the caller closes the mapping. ``what`` names the expected content in messages."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{path}: not {what}: {_kind(st.st_mode)}, a regular file is needed")
        if st.st_size > limit:
            raise error(f"{path}: {st.st_size} bytes is larger than the {limit >> 20} MiB "
                        f"limit for {what}")
        if st.st_size == 0:
            return b""
        try:
            return mmap.mmap(fd, st.st_size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
        except OSError as exc:
            raise error(f"{path}: cannot map: {exc.strerror}") from None
    finally:
        os.close(fd)


@contextmanager
def mapped_object(path: str) -> Iterator[Union[bytes, mmap.mmap]]:
    """The content of the object file at ``path``, mapped for the ``with`` block."""
    data = map_file(path)
    try:
        yield data
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
