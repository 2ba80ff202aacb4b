"""A readiness check for pybpf running as a pod or container:
``python3 -m pybpf_gadgets.common.ready`` exits 0 when another process of its own
cgroup (the gadget in the same container) holds an attached BPF program (a
bpf-prog fd together with a bpf_link or perf_event fd), 1 otherwise.

Kubernetes runs it as the DaemonSet's exec readiness probe (deploy/): it
needs nothing but /proc, which hostPID shows whole.
"""
from __future__ import annotations

import os
import sys
from typing import Iterable, Set

from .cgroups import cgroup_of

PROG = "anon_inode:bpf-prog"
ATTACHED = ("anon_inode:bpf_link", "anon_inode:[perf_event]")


def fd_kinds(pid: int, proc: str = "/proc") -> Set[str]:
    """What a process's open fds point at (anon inode names, paths)."""
    kinds = set()
    fd_dir = f"{proc}/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return kinds
    for fd in fds:
        try:
            kinds.add(os.readlink(f"{fd_dir}/{fd}"))
        except OSError:
            continue
    return kinds


def attached(kinds: Iterable[str]) -> bool:
    kinds = set(kinds)
    return PROG in kinds and any(k in kinds for k in ATTACHED)


def ready(proc: str = "/proc") -> bool:
    """Whether a sibling process in this process's cgroup has a BPF program attached."""
    me = os.getpid()
    mine = cgroup_of(me, proc)
    for entry in os.listdir(proc):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            if cgroup_of(int(entry), proc) != mine:
                continue
        except OSError:
            continue
        if attached(fd_kinds(int(entry), proc)):
            return True
    return False


if __name__ == "__main__":
    sys.exit(0 if ready() else 1)
