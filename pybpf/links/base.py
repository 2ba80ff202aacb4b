"""Link: one attachment of a program to a hook, and LinkGroup, several.

A Link owns what keeps the program attached: a BPF link fd, and/or a perf
event fd, a socket option, a netlink filter or a tracefs probe entry.
``close()`` undoes it all in reverse order of creation; ``detach()`` asks
the kernel to detach a BPF link while keeping the fd (BPF_LINK_DETACH).
A LinkGroup closes links on perf events concurrently (``alone``): each such
detach waits for the kernel's RCU grace periods, tens of milliseconds apiece.
"""
from __future__ import annotations

import threading

from pybpf import sys as bpfsys
from pybpf.errors import LinkError, SyscallError
from pybpf.sys.fd import FD
from pybpf.sys.info import LinkInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterable, Iterator, List, Optional, Union


class Link:
    """An attachment. ``kind`` is the hook kind ("tracepoint", "uprobe"...),
    ``target`` what it is attached to, ``program`` the program's name."""

    def __init__(self, kind: str, target: str, program: str, fd: Optional[FD] = None) -> None:
        self.kind = kind
        self.target = target
        self.program = program
        self._fd = fd
        # undo steps, run last-first by close(); an FD's close is one of them
        self._undo: List[Callable[[], None]] = []
        self._closed = False
        # its close() depends on no other link's: a LinkGroup may run it beside others
        self.alone = False

    def on_close(self, step: Callable[[], None]) -> None:
        """Register an undo step (run by close(), most recent first)."""
        self._undo.append(step)

    @property
    def fd(self) -> int:
        """The BPF link fd; LinkError if this attachment has none."""
        if self._fd is None:
            raise LinkError(f"{self}: attached without a BPF link, it has no link fd")
        return self._fd.fileno()

    @property
    def has_bpf_link(self) -> bool:
        return self._fd is not None and not self._fd.closed

    @property
    def info(self) -> LinkInfo:
        """``pybpf.sys.link_info`` of the BPF link (id, type, prog_id, details)."""
        return bpfsys.link_info(self.fd)

    def pin(self, path: str) -> None:
        """Pin the BPF link on bpffs: the attachment outlives this process."""
        bpfsys.obj_pin(self.fd, str(path))

    def detach(self) -> None:
        """Detach the program now (BPF_LINK_DETACH), keeping the fd; or close
        an attachment that has no BPF link."""
        if not self.has_bpf_link:
            self.close()
            return
        try:
            bpfsys.link_detach(self.fd)
        except SyscallError as exc:
            raise LinkError(f"{self}: cannot detach: {exc} (the kernel detaches only some "
                            f"link types; close() always works)") from None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Undo the attachment and release every fd. Idempotent. The first
        failure of an undo step is raised after every step has run."""
        if self._closed:
            return
        self._closed = True
        first: Optional[BaseException] = None
        if self._fd is not None:
            self._fd.close()
        while self._undo:
            step = self._undo.pop()
            try:
                step()
            except Exception as exc:  # keep undoing; report the first failure
                if first is None:
                    first = exc
        if first is not None:
            raise first

    def __enter__(self) -> "Link":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "attached"
        return f"<{type(self).__name__} {self.kind} {self.target} prog={self.program} {state}>"

    __str__ = __repr__


class LinkGroup:
    """Several links owned together (``attach_all``, per-CPU perf events)."""

    def __init__(self, links: Iterable[Link] = ()) -> None:
        self.links: List[Link] = list(links)

    def add(self, link: Union[Link, "LinkGroup"]) -> Union[Link, "LinkGroup"]:
        """Take ownership of ``link``; a LinkGroup's links are moved in one by one."""
        if isinstance(link, LinkGroup):
            self.links.extend(link.links)
            link.links = []
        else:
            self.links.append(link)
        return link

    def __iter__(self) -> Iterator[Link]:
        return iter(self.links)

    def __len__(self) -> int:
        return len(self.links)

    def __getitem__(self, index: int) -> Link:
        return self.links[index]

    def by_program(self, name: str) -> List[Link]:
        """The links of the program called ``name``."""
        return [link for link in self.links if link.program == name]

    def close(self) -> None:
        """Close every link: those marked ``alone`` first and all at once (their
        waits on the kernel overlap), then the others last first; raise a failure
        (the first one seen) once all are closed. An interrupt while the first
        ones close still leaves none of the others attached."""
        failures: List[BaseException] = []

        def close(link: Link) -> None:
            try:
                link.close()
            except Exception as exc:
                failures.append(exc)

        alone = [link for link in reversed(self.links) if link.alone]
        try:
            if len(alone) > 1:
                threads = [threading.Thread(target=close, args=(link,)) for link in alone]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                self.links = [link for link in self.links if not link.alone]
        finally:
            while self.links:  # Link.close is idempotent: an alone one closed twice is fine
                close(self.links.pop())
        if failures:
            raise failures[0]

    def __enter__(self) -> "LinkGroup":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LinkGroup {len(self.links)} links>"
