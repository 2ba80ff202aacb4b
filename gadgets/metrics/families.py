"""What each gadget exports, and under which names.

- trace gadgets: one counter of events, ``pybpf_<gadget>_events_total``,
  labelled by event fields (default: the container and the outcome, such as
  trace_exec's ``error``), and ``pybpf_gadget_lost_events_total{gadget}``;
- top gadgets: a counter per count column (``pybpf_top_file_read_bytes_total``,
  the kernel map is emptied every interval and each reading is added) and a
  gauge of the rows seen in the last interval, labelled by row fields;
- profile gadgets with log2 histograms: one Prometheus histogram in seconds
  (``pybpf_profile_blockio_latency_seconds``), labelled by the gadget's
  grouping (``disk`` with per_disk, ``address`` with by).

Label names come from field paths: ``runtime.containerName`` -> ``container``,
``proc.comm`` -> ``comm``, ``k8s.podName`` -> ``pod``, others with
dots made underscores (``dst.port`` -> ``dst_port``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ..common.formats import disk_name, ip_text
from ..common.gadget import Gadget

LABEL_ALIASES = {
    "runtime.containerName": "container", "runtime.containerId": "container_id",
    "runtime.runtimeName": "runtime", "proc.comm": "comm", "proc.pid": "pid",
    "proc.tid": "tid", "proc.ppid": "ppid", "proc.pcomm": "pcomm", "proc.uid": "uid",
    "proc.gid": "gid", "proc.mntns_id": "mntns_id", "proc.cgroup_id": "cgroup_id",
    # Inspektor Gadget's names, which the container enrichment follows
    "k8s.namespace": "namespace", "k8s.podName": "pod", "k8s.containerName": "k8s_container",
}

#: Where a process runs, first in every default label set: the pod's
#: namespace and name (empty off Kubernetes, and Prometheus drops empty labels).
K8S: Tuple[str, ...] = ("k8s.namespace", "k8s.podName")

#: Default labels of trace gadgets beyond the container: what says "which
#: kind" and "how did it end". Any other trace gadget counts by container.
TRACE_OUTCOMES: Dict[str, Tuple[str, ...]] = {
    "trace_exec": ("error",), "trace_open": ("error",), "trace_dns": ("qr", "rcode"),
    "trace_tcp": ("type", "error"), "trace_bind": ("protocol", "error"),
    "trace_signal": ("signal", "error"), "trace_capabilities": ("cap", "verdict"),
    "trace_mount": ("op", "error"),
}


#: Parameters a gadget's metrics need unless the configuration says otherwise:
#: counts by outcome include the failures and checks the CLI hides by default
#: (trace_exec's failed execs, as BCC's execsnoop without -x; trace_capabilities'
#: non-audit checks, as BCC's capable without -v).
DEFAULT_PARAMS: Dict[str, Dict[str, object]] = {
    "trace_exec": {"fails": True}, "trace_capabilities": {"verbose": True},
}


@dataclass(frozen=True)
class TopCounter:
    """A count column of a top gadget exported as ``pybpf_<gadget>_<suffix>``."""

    field: str
    suffix: str
    help: str
    scale: float = 1


@dataclass(frozen=True)
class TopMetrics:
    counters: Tuple[TopCounter, ...]
    rows: str  # gauge suffix: rows of the last interval
    rows_help: str
    labels: Tuple[str, ...]


TOP: Dict[str, TopMetrics] = {
    "top_file": TopMetrics(
        (TopCounter("reads", "reads_total", "read calls"),
         TopCounter("writes", "writes_total", "write calls"),
         TopCounter("read_bytes", "read_bytes_total", "bytes read"),
         TopCounter("write_bytes", "write_bytes_total", "bytes written")),
        "active_files", "files read or written in the last interval",
        K8S + ("runtime.containerName", "proc.comm", "type")),
    "top_tcp": TopMetrics(
        (TopCounter("sent", "sent_bytes_total", "bytes sent on TCP connections"),
         TopCounter("received", "received_bytes_total", "bytes received on TCP connections")),
        "active_connections", "TCP connections that sent or received in the last interval",
        K8S + ("runtime.containerName", "proc.comm")),
    "top_blockio": TopMetrics(
        (TopCounter("reads", "reads_total", "read requests completed"),
         TopCounter("writes", "writes_total", "write requests completed"),
         TopCounter("read_bytes", "read_bytes_total", "bytes read from block devices"),
         TopCounter("write_bytes", "write_bytes_total", "bytes written to block devices"),
         TopCounter("time_us", "io_time_seconds_total",
                    "time requests took, start to completion, summed", 1e-6)),
        "active_processes", "(process, disk) pairs with block I/O in the last interval",
        K8S + ("runtime.containerName", "proc.comm", "disk")),
    "top_bpf": TopMetrics(
        (TopCounter("runs", "runs_total", "BPF program runs"),
         TopCounter("run_time_us", "run_time_seconds_total", "time BPF programs ran", 1e-6)),
        "active_programs", "BPF programs that ran in the last interval",
        ("type", "name")),
}

#: How a profile histogram's map key becomes its one label value.
KeyLabel = Callable[[Mapping[str, Any], Mapping[str, Any]], str]


@dataclass(frozen=True)
class ProfileMetrics:
    suffix: str
    help: str
    label: str  # label name; "" when the run makes one histogram
    grouped: Callable[[Mapping[str, Any]], bool]  # params -> one histogram per key?
    key_label: KeyLabel  # (params, map key) -> label value


PROFILE: Dict[str, ProfileMetrics] = {
    "profile_blockio": ProfileMetrics(
        "latency_seconds", "block I/O latency, issue to completion", "disk",
        lambda p: bool(p.get("per_disk")), lambda p, k: disk_name(k["major"], k["minor"])),
    "profile_tcprtt": ProfileMetrics(
        "srtt_seconds", "TCP smoothed round-trip time, sampled per received segment", "address",
        lambda p: bool(p.get("by")), lambda p, k: ip_text(k["family"], k["addr"])),
}


def label_name(path: str) -> str:
    """The Prometheus label name of a field path."""
    return LABEL_ALIASES.get(path) or path.replace(".", "_")


def metric_name(gadget: Gadget, suffix: str) -> str:
    return f"pybpf_{gadget.name}_{suffix}"


def default_labels(gadget: Gadget) -> Tuple[str, ...]:
    """The label fields a gadget gets when the configuration names none."""
    if gadget.category == "top":
        return TOP[gadget.name].labels
    if gadget.category == "trace":
        return K8S + ("runtime.containerName",) + TRACE_OUTCOMES.get(gadget.name, ())
    return ()


def supported(gadget: Gadget) -> Optional[str]:
    """None when the gadget has a metrics form, else why not (one phrase)."""
    if gadget.category == "trace" or gadget.name in TOP or gadget.name in PROFILE:
        return None
    names = sorted(list(TOP) + list(PROFILE))
    return (f"has no metrics form (every trace gadget has, and {', '.join(names)})")
