"""The host as a gadget session sees it before any container is looked at: where
the host's file system is, its mount namespace, and the fields of an event that
belongs to no container.

A session needs these for every event (is this the host's namespace?), and
gadgets.common.containers (discovery, the runtimes' state) only once an event
comes from another namespace or the user selects containers: this module keeps
that machinery off a start that sees the host alone.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict

# where the host's file system is, when pybpf runs in a container with the
# host's / mounted (as ig's HOST_ROOT): its /proc and the runtimes' state
HOST_ROOT_ENV = "PYBPF_HOST_ROOT"


def host_root() -> str:
    return os.environ.get(HOST_ROOT_ENV) or "/"


def host_proc() -> str:
    return os.path.join(host_root(), "proc")


def mntns_of(pid: int, proc: str = "/proc") -> int:
    """The mount namespace inode number of a process."""
    return os.stat(f"{proc}/{pid}/ns/mnt").st_ino


def host_mntns_id(proc: str = "/proc") -> int:
    """The host's mount namespace: pid 1's, else kthreadd's (pid 2, always
    in the initial namespace; some hosts' pid 1 refuses even root), else
    ours."""
    for pid in (1, 2):
        try:
            return mntns_of(pid, proc)
        except OSError:
            continue
    return os.stat("/proc/self/ns/mnt").st_ino


def no_container() -> Dict[str, Dict[str, Any]]:
    """The ``runtime`` and ``k8s`` fields (Inspektor Gadget's shape) of an event
    from no container: a host process."""
    return {"runtime": {"containerName": "", "containerId": "", "containerImageName": "",
                        "runtimeName": ""},
            "k8s": {"namespace": "", "podName": "", "containerName": "", "podLabels": {}}}
