"""Links: attaching loaded programs to their hooks.

``attach(prog, **opts)`` picks the method from the program's SEC() name;
``attach_all(programs)`` attaches every auto-attachable program into a
``LinkGroup``. Each ``attach_*`` returns a ``Link`` (or a ``LinkGroup`` for
per-CPU perf events) that owns the attachment: ``close()`` or ``with``
undoes it. A hook the kernel lacks raises ``MissingHookError`` naming it.

Each kind of hook has its module (tracepoint; bpf_links: raw_tp, tracing,
iter, cgroup, xdp; perf_links: kprobes, uprobes, perf events; net_links:
socket, tc; usdt), imported when a program of that kind is attached or its
name here is first used (PEP 562): a tracing gadget imports the tracepoint
module alone, not the symbol lookups, feature probes, netlink formats or ELF
notes the other kinds need.
"""
from __future__ import annotations

from pybpf.namespace import lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
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
    from pybpf.links.net_links import attach_socket, attach_tc
    from pybpf.links.perf_links import (
        attach_kprobe,
        attach_kprobe_multi,
        attach_ksyscall,
        attach_perf_event,
        attach_uprobe,
        attach_uprobe_multi,
    )
    from pybpf.links.tracepoint import attach_tracepoint
    from pybpf.links.usdt import attach_usdt

#: public name -> the module of this package that defines it
_OWNERS = {
    "IterLink": "bpf_links", "Link": "base", "LinkGroup": "base", "attach": "auto",
    "attach_all": "auto", "attach_cgroup": "bpf_links", "attach_iter": "bpf_links",
    "attach_kprobe": "perf_links", "attach_kprobe_multi": "perf_links",
    "attach_ksyscall": "perf_links", "attach_perf_event": "perf_links",
    "attach_raw_tracepoint": "bpf_links", "attach_socket": "net_links", "attach_tc": "net_links",
    "attach_tracepoint": "tracepoint", "attach_tracing": "bpf_links", "attach_uprobe": "perf_links",
    "attach_uprobe_multi": "perf_links", "attach_usdt": "usdt", "attach_xdp": "bpf_links",
    "can_auto_attach": "auto",
}

__all__ = [
    "IterLink", "Link", "LinkGroup", "attach", "attach_all", "attach_cgroup", "attach_iter",
    "attach_kprobe", "attach_kprobe_multi", "attach_ksyscall", "attach_perf_event",
    "attach_raw_tracepoint", "attach_socket", "attach_tc", "attach_tracepoint", "attach_tracing",
    "attach_uprobe", "attach_uprobe_multi", "attach_usdt", "attach_xdp", "can_auto_attach"
]

__getattr__, __dir__ = lazy(__name__, _OWNERS)
