"""Links: attaching loaded programs to their hooks.

``attach(prog, **opts)`` picks the method from the program's SEC() name;
``attach_all(programs)`` attaches every auto-attachable program into a
``LinkGroup``. Each ``attach_*`` returns a ``Link`` (or a ``LinkGroup`` for
per-CPU perf events) that owns the attachment: ``close()`` or ``with``
undoes it. A hook the kernel lacks raises ``MissingHookError`` naming it.

Network attachments (socket, tc: netlink and its construct message formats)
and USDT (probe notes read from ELF) are imported when first used: tracing
gadgets never attach them, and importing them costs more than the rest.
"""
from __future__ import annotations

from typing import Any

from pybpf.links.auto import attach, attach_all, can_auto_attach
from pybpf.links.base import Link, LinkGroup
from pybpf.links.bpf_links import (
                                   IterLink,
                                   attach_cgroup,
                                   attach_iter,
                                   attach_raw_tracepoint,
                                   attach_tracing,
                                   attach_xdp,
)
from pybpf.links.perf_links import (
                                   attach_kprobe,
                                   attach_kprobe_multi,
                                   attach_ksyscall,
                                   attach_perf_event,
                                   attach_tracepoint,
                                   attach_uprobe,
                                   attach_uprobe_multi,
)

__all__ = [
    "IterLink", "Link", "LinkGroup", "attach", "attach_all", "attach_cgroup", "attach_iter",
    "attach_kprobe", "attach_kprobe_multi", "attach_ksyscall", "attach_perf_event",
    "attach_raw_tracepoint", "attach_socket", "attach_tc", "attach_tracepoint",
    "attach_tracing", "attach_uprobe", "attach_uprobe_multi", "attach_usdt", "attach_xdp",
    "can_auto_attach",
]

_DEFERRED = {"attach_socket": "net_links", "attach_tc": "net_links", "attach_usdt": "usdt"}


def __getattr__(name: str) -> Any:
    if name in _DEFERRED:  # deferred: rare paths (see the module docstring)
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_DEFERRED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
