"""Tracepoint attachment (a tracepoint's perf event, the BPF program attached to it):
the kind trace gadgets use, kept apart from the other perf-event kinds
(pybpf.links.perf_links: kprobes, uprobes, sampling, and the feature probes and
symbol lookups they need) so that attaching tracepoints imports nothing else."""
from __future__ import annotations

from pybpf.errors import SyscallError
from pybpf.links import tracefs
from pybpf.links.base import Link
from pybpf.links.common import attach_perf_fd, link_error
from pybpf.sys import perf as sysperf
from pybpf.sys.fd import FD

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

    from pybpf.links.common import ProgLike


def alone(link: Link) -> Link:
    """``link``, marked as closing without regard to other links (its own perf
    event, nothing shared): a LinkGroup detaches such links all at once."""
    link.alone = True
    return link


def open_tracepoint_event(tp_id: int, what: str, pid: int = -1) -> FD:
    """The perf event of tracepoint (or legacy probe event) ``tp_id``."""
    spec = sysperf.PerfEventSpec(type=sysperf.PERF_TYPE_TRACEPOINT, config=tp_id,
                                 sample_period=1, wakeup=1)
    return sysperf.perf_event_open(spec, pid=pid, cpu=0 if pid == -1 else -1, what=what)


def attach_tracepoint(prog: ProgLike, category: str, name: str, *, cookie: Optional[int] = None) -> Link:
    """Attach to tracepoint CATEGORY:NAME (e.g. ``syscalls``, ``sys_enter_getppid``)."""
    target = f"{category}/{name}"
    tp_id = tracefs.tracepoint_id(category, name)
    try:
        pfd = open_tracepoint_event(tp_id, f"tracepoint {target}")
    except SyscallError as exc:
        raise link_error(exc, prog, f"tracepoint {target}") from None
    return alone(attach_perf_fd(prog, pfd, "tracepoint", target, cookie))
