"""pybpf.sys: the only code that calls bpf(2), perf_event_open(2) and their ioctls.

``bpf(cmd, attr)`` is the raw call; the typed wrappers below take and return
ints, byte buffers and owned ``FD`` objects and raise the typed errors of
pybpf.errors. perf_event_open and the perf ioctls live in pybpf.sys.perf
and are re-exported here.

The names are imported from their modules on first use, so that importing
one module of the package (``pybpf.sys.fd``, say) does not import them all.
"""
from __future__ import annotations

from pybpf._lazy import lazy_namespace

_NAMES_BY_MODULE = {
    "commands": (
        "KprobeMultiOpts", "LogBuffer", "NetfilterOpts", "QueryResult", "TestRunResult",
        "UprobeMultiOpts", "btf_get_fd_by_id", "btf_get_next_id", "btf_load", "enable_stats",
        "iter_create", "link_create", "link_detach", "link_get_fd_by_id", "link_get_next_id",
        "link_update", "map_create", "map_delete_batch", "map_delete_elem", "map_freeze",
        "map_get_fd_by_id", "map_get_next_id", "map_get_next_key", "map_lookup_and_delete_elem",
        "map_lookup_batch", "map_lookup_elem", "map_update_batch", "map_update_elem", "obj_get",
        "obj_pin", "object_name", "prog_attach", "prog_bind_map", "prog_detach",
        "prog_get_fd_by_id", "prog_get_next_id", "prog_load", "prog_query", "prog_test_run",
        "raw_tracepoint_open",
    ),
    "cpus": ("num_possible_cpus", "possible_cpus"),
    "fd": ("FD",),
    "info": ("BTFInfo", "LinkInfo", "MapInfo", "ProgInfo", "btf_info", "link_info", "map_info",
             "prog_info", "prog_xlated_insns"),
    "perf": ("perf_event_open", "perf_event_ioc_enable", "perf_event_ioc_disable",
             "perf_event_ioc_set_bpf", "perf_mmap", "PerfEventSpec"),
    "syscall": ("bpf", "kernel_release", "kernel_version_code", "syscall_number"),
}
_SUBMODULES = frozenset(_NAMES_BY_MODULE) | {"attrs", "owner"}
_EXPORTS = {name: module for module, names in _NAMES_BY_MODULE.items() for name in names}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_namespace(globals(), _EXPORTS, _SUBMODULES)
