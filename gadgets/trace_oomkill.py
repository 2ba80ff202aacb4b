"""trace_oomkill: the OOM killer choosing a victim: the task that ran into
the OOM, the victim process and its memory (pages)."""
from __future__ import annotations

from .common.declared import Declared
from .common.gadget import Field, Gadget, Hook
from .common.session import run_function

#: the gadget's fields over struct event's members (gadgets.common.declared): the
#: victim, another process than the event's, keeps the general path (other_processes)
FIELDS = Declared({
    "victim.pid": "victim_pid",
    "victim.tid": "victim_tid",
    "victim.comm": "victim_comm",  # decoded by the codec: cut at the first NUL
    "victim.uid": "victim_uid",
    "victim.mntns_id": "victim_mntns_id",
    "pages.total_vm": "total_vm",
    "pages.rss": "max(rss_file, 0) + max(rss_anon, 0) + max(rss_shmem, 0)",
    "pages.anon": "rss_anon",
    "pages.file": "rss_file",
    "pages.shmem": "rss_shmem",
}, {})


GADGET = Gadget(
    name="trace_oomkill",
    category="trace",
    description="OOM kills: the task that hit the OOM, the victim, its pages",
    object="trace_oomkill",
    hooks=[Hook("tp_btf", "mark_victim")],
    fields=[
        Field("proc.comm", "command of the task that ran into the OOM", 16, True, "KCOMM"),
        Field("proc.pid", "pid of the task that ran into the OOM", -7, True, "KPID", type=int),
        Field("victim.pid", "victim process id", -7, True, "VPID", type=int),
        Field("victim.tid", "victim thread id", -7, type=int),
        Field("victim.comm", "victim command", 16, True, "VCOMM"),
        Field("victim.uid", "victim user id", -6, type=int),
        Field("victim.mntns_id", "victim mount namespace", -11, type=int),
        Field("victim.runtime.containerName", "victim's container", 16, True, "VCONTAINER"),
        Field("victim.runtime.containerId", "victim's container id", 13, header="VCONTAINERID"),
        Field("victim.runtime.runtimeName", "victim's container runtime", 10,
              header="VRUNTIME"),
        Field("victim.k8s.podName", "victim's Kubernetes pod", 20, header="VK8S.PODNAME"),
        Field("pages.total_vm", "victim's virtual memory (pages)", -9, type=int),
        Field("pages.rss", "victim's resident pages (anon+file+shmem)", -9, True, "PAGES",
              type=int),
        Field("pages.anon", "anonymous resident pages", -9, type=int),
        Field("pages.file", "file-backed resident pages", -9, type=int),
        Field("pages.shmem", "shared-memory resident pages", -9, type=int),
    ],
    present=FIELDS,
    other_processes=("victim",),
)

run = run_function(GADGET)
