"""Links: attaching loaded programs to their hooks.

``attach(prog, **opts)`` picks the method from the program's SEC() name;
``attach_all(programs)`` attaches every auto-attachable program into a
``LinkGroup``. Each ``attach_*`` returns a ``Link`` (or a ``LinkGroup`` for
per-CPU perf events) that owns the attachment: ``close()`` or ``with``
undoes it. A hook the kernel lacks raises ``MissingHookError`` naming it.

The names below are imported on first use, so that attaching a tracepoint
does not import the netlink and socket code of the network attachments.
"""
from __future__ import annotations

from pybpf._lazy import lazy_namespace

_EXPORTS = {
    "attach": "auto", "attach_all": "auto", "can_auto_attach": "auto",
    "Link": "base", "LinkGroup": "base",
    "IterLink": "bpf_links", "attach_cgroup": "bpf_links", "attach_iter": "bpf_links",
    "attach_raw_tracepoint": "bpf_links", "attach_tracing": "bpf_links", "attach_xdp": "bpf_links",
    "attach_socket": "net_links", "attach_tc": "net_links",
    "attach_kprobe": "perf_links", "attach_kprobe_multi": "perf_links",
    "attach_ksyscall": "perf_links", "attach_perf_event": "perf_links",
    "attach_tracepoint": "perf_links", "attach_uprobe": "perf_links",
    "attach_uprobe_multi": "perf_links", "attach_usdt": "usdt",
}
_SUBMODULES = frozenset(_EXPORTS.values()) | {"common", "netlink", "tracefs", "uprobe_target"}

__all__ = [
    "IterLink", "Link", "LinkGroup", "attach", "attach_all", "attach_cgroup", "attach_iter",
    "attach_kprobe", "attach_kprobe_multi", "attach_ksyscall", "attach_perf_event",
    "attach_raw_tracepoint", "attach_socket", "attach_tc", "attach_tracepoint",
    "attach_tracing", "attach_uprobe", "attach_uprobe_multi", "attach_usdt", "attach_xdp",
    "can_auto_attach",
]


__getattr__, __dir__ = lazy_namespace(globals(), _EXPORTS, _SUBMODULES)
