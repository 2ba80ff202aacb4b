"""FDOwner: the fileno/close/with/pin surface shared by Map and Program.

Each holds its kernel object's ``FD`` in ``fd`` and the bpffs path it was
pinned at or opened from in ``pinned``.
"""
from __future__ import annotations

import os

from pybpf.sys.commands import obj_pin
from pybpf.sys.fd import FD

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, TypeVar, Union
    _Owner = TypeVar("_Owner", bound="FDOwner")


class FDOwner:
    """Base of objects that own one kernel object's ``fd`` and may pin it."""

    fd: FD
    pinned: Optional[str]

    def fileno(self) -> int:
        return self.fd.fileno()

    def close(self) -> None:
        self.fd.close()

    @property
    def closed(self) -> bool:
        return self.fd.closed

    def __enter__(self: _Owner) -> _Owner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pin(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Pin on bpffs so the object outlives this process."""
        obj_pin(self.fd, path)
        self.pinned = os.fspath(path)

    def unpin(self) -> None:
        """Remove the pin this object made or was opened from (the fd stays open)."""
        if self.pinned is not None:
            os.unlink(self.pinned)
            self.pinned = None

    def _fd_state(self) -> str:
        """``closed`` or ``fd=N``, for __repr__."""
        return "closed" if self.fd.closed else f"fd={self.fd.fileno()}"
