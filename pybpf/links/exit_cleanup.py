"""Attachments that outlive their process unless removed: removed at exit and on SIGTERM.

A BPF link (tcx, XDP, tracing) dies with its fd, so the kernel detaches it
when the process ends however it ends. A TC clsact filter (and the qdisc
pybpf added for it) is netlink state: nothing removes it but a request. Owns
the registry of such attachments that this process made and has not closed:
``close()``d on normal interpreter exit (atexit, which also covers SIGINT's
KeyboardInterrupt and sys.exit) and on SIGTERM while SIGTERM has its default
action (the process then dies of SIGTERM as it would have). A child made by
fork() does not remove its parent's attachments. SIGKILL cannot be caught:
prefer tcx (pybpf's default where the kernel has it).
"""
from __future__ import annotations

import atexit
import os
import signal
import threading
from types import FrameType
from typing import Dict, Optional, Protocol


class Closable(Protocol):
    def close(self) -> None: ...


_lock = threading.RLock()  # the SIGTERM handler may run while the main thread holds it
_open: Dict[int, Closable] = {}  # id(link) -> link, this process's only (see _owner)
_owner = os.getpid()
_hooked = False


def register(link: Closable) -> None:
    """Remove ``link`` (something with close()) if still open when the process ends."""
    global _hooked, _owner
    with _lock:
        if _owner != os.getpid():  # a forked child: its parent's entries are not its own
            _open.clear()
            _owner = os.getpid()
        _open[id(link)] = link
        if not _hooked:
            atexit.register(close_all)
            _hook_sigterm()
            _hooked = True


def unregister(link: Closable) -> None:
    with _lock:
        _open.pop(id(link), None)


def close_all() -> None:
    """Close every registered attachment this process made (errors ignored: exiting)."""
    with _lock:
        links = list(_open.values()) if _owner == os.getpid() else []
        _open.clear()
    for link in reversed(links):
        try:
            link.close()
        except Exception:  # noqa: BLE001 - best effort at exit, nothing to report to
            pass


def _on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
    close_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _hook_sigterm() -> None:
    """Take SIGTERM only where it still has its default action and we may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
