"""Write a newc cpio archive (the initramfs format) without root.

Building the archive ourselves lets it hold a /dev/console node and files
owned by root without mknod or fakeroot on the host.
"""
from __future__ import annotations

import stat
from typing import BinaryIO


class CpioWriter:
    """Append entries to a newc ("070701") archive; ``close()`` writes the trailer."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple = (0, 0)) -> None:
        encoded = name.lstrip("/").encode() + b"\0"
        fields = (self._ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data),
                  0, 0, rdev[0], rdev[1], len(encoded), 0)
        self._ino += 1
        header = b"070701" + b"".join(b"%08X" % value for value in fields)
        self._out.write(header + encoded)
        self._out.write(b"\0" * (-(len(header) + len(encoded)) % 4))
        self._out.write(data)
        self._out.write(b"\0" * (-len(data) % 4))

    def directory(self, name: str, mode: int = 0o755) -> None:
        self._entry(name, stat.S_IFDIR | mode)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def close(self) -> None:
        self._ino = 0
        self._entry("TRAILER!!!", 0)
