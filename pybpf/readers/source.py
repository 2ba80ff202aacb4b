"""Resolve what a reader was given (a ``Map``, an ``FD`` or a plain fd
number) into the fd, type, size and name of the map behind it."""
from __future__ import annotations

from pybpf import sys as bpfsys
from pybpf.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol, SupportsInt, Union

    class MapLike(Protocol):
        """What a reader needs of a Map (pybpf.maps.Map, or anything with these)."""

        fd: SupportsInt
        type: int
        max_entries: int


class MapSource(Record):
    __slots__ = ("fd", "type", "max_entries", "name")

    fd: int
    type: int
    max_entries: int
    name: str

    def __init__(self, fd: int, type: int, max_entries: int, name: str) -> None:
        self.fd = fd
        self.type = type
        self.max_entries = max_entries
        self.name = name


def map_source(map_or_fd: Union[MapLike, int]) -> MapSource:
    """A Map gives its own attributes; a bare fd is asked through BPF_OBJ_GET_INFO_BY_FD."""
    if not isinstance(map_or_fd, int):
        return MapSource(int(map_or_fd.fd), int(map_or_fd.type), int(map_or_fd.max_entries),
                         str(getattr(map_or_fd, "name", "")))
    fd = int(map_or_fd)
    info = bpfsys.map_info(fd)
    return MapSource(fd, int(info.type), int(info.max_entries), str(info.name))
