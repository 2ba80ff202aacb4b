"""pybpf.sys: the only code that calls bpf(2), perf_event_open(2) and their ioctls.

``bpf(cmd, attr)`` is the raw call; the typed wrappers below take and return
ints, byte buffers and owned ``FD`` objects and raise the typed errors of
pybpf.errors. perf_event_open and the perf ioctls live in pybpf.sys.perf
and are re-exported here.
"""
from __future__ import annotations

from pybpf.sys.commands import (
    KprobeMultiOpts,
    LogBuffer,
    NetfilterOpts,
    QueryResult,
    TestRunResult,
    UprobeMultiOpts,
    btf_get_fd_by_id,
    btf_get_next_id,
    btf_load,
    enable_stats,
    iter_create,
    link_create,
    link_detach,
    link_get_fd_by_id,
    link_get_next_id,
    link_update,
    map_create,
    map_delete_batch,
    map_delete_elem,
    map_freeze,
    map_get_fd_by_id,
    map_get_next_id,
    map_get_next_key,
    map_lookup_and_delete_elem,
    map_lookup_batch,
    map_lookup_elem,
    map_update_batch,
    map_update_elem,
    obj_get,
    obj_pin,
    object_name,
    prog_attach,
    prog_bind_map,
    prog_detach,
    prog_get_fd_by_id,
    prog_get_next_id,
    prog_load,
    prog_query,
    prog_test_run,
    raw_tracepoint_open,
)
from pybpf.sys.cpus import num_possible_cpus, possible_cpus
from pybpf.sys.fd import FD
from pybpf.sys.info import (
    BTFInfo,
    LinkInfo,
    MapInfo,
    ProgInfo,
    btf_info,
    link_info,
    map_info,
    prog_info,
    prog_xlated_insns,
)
from pybpf.sys.perf import (
    PerfEventSpec,
    perf_event_ioc_disable,
    perf_event_ioc_enable,
    perf_event_ioc_set_bpf,
    perf_event_open,
    perf_mmap,
)
from pybpf.sys.syscall import bpf, kernel_release, kernel_version_code, syscall_number

__all__ = [
    "BTFInfo", "FD", "KprobeMultiOpts", "LinkInfo", "LogBuffer", "MapInfo", "NetfilterOpts",
    "PerfEventSpec", "ProgInfo", "QueryResult", "TestRunResult", "UprobeMultiOpts", "bpf",
    "btf_get_fd_by_id", "btf_get_next_id", "btf_info", "btf_load", "enable_stats", "iter_create",
    "kernel_release", "kernel_version_code", "link_create", "link_detach", "link_get_fd_by_id",
    "link_get_next_id", "link_info", "link_update", "map_create", "map_delete_batch",
    "map_delete_elem", "map_freeze", "map_get_fd_by_id", "map_get_next_id", "map_get_next_key",
    "map_info", "map_lookup_and_delete_elem", "map_lookup_batch", "map_lookup_elem",
    "map_update_batch", "map_update_elem", "num_possible_cpus", "obj_get", "obj_pin",
    "object_name", "perf_event_ioc_disable", "perf_event_ioc_enable", "perf_event_ioc_set_bpf",
    "perf_event_open", "perf_mmap", "possible_cpus", "prog_attach", "prog_bind_map",
    "prog_detach", "prog_get_fd_by_id", "prog_get_next_id", "prog_info", "prog_load",
    "prog_query", "prog_test_run", "prog_xlated_insns", "raw_tracepoint_open", "syscall_number",
]
