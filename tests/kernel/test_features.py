"""pybpf.features against this kernel (Linux 6.18 with kprobes off, trampolines blocked)."""
from __future__ import annotations

import os

import pytest

from pybpf import features as F
from pybpf.sys import btf_load
from pybpf.sys.consts import BTFKind, LinkType, MapType, ProgType

pytestmark = pytest.mark.vm  # probes and layouts differ most between kernels


def test_support_is_truthy_with_reason():
    s = F.Support(True, "why")
    assert s and str(s) == "yes (why)"
    assert not F.Support(False, "nope") and str(F.Support(False)) == "no"


def test_kernel_version():
    major, minor, _ = F.kernel_version()
    assert (major, minor) >= (5, 0)
    assert F.kernel_version_code() >> 16 == major


def since(version, *values):
    """Parameters that need a kernel >= version (skipped on older ones)."""
    mark = pytest.mark.skipif(F.kernel_version() < version,
                              reason=f"needs Linux {'.'.join(map(str, version))}")
    return [pytest.param(v, marks=mark, id=getattr(v, "name", str(v))) for v in values]


@pytest.mark.parametrize("t", since((4, 19), ProgType.SOCKET_FILTER, ProgType.KPROBE,
                                    ProgType.TRACEPOINT, ProgType.RAW_TRACEPOINT,
                                    ProgType.PERF_EVENT, ProgType.XDP, ProgType.SCHED_CLS,
                                    ProgType.CGROUP_SOCK_ADDR)
                         + since((5, 5), ProgType.TRACING) + since((5, 14), ProgType.SYSCALL)
                         + since((6, 4), ProgType.NETFILTER))
def test_known_prog_types(t):
    assert F.has_prog_type(t), F.has_prog_type(t).reason


def test_unknown_prog_type_and_map_type():
    assert not F.has_prog_type(200)
    assert "does not know" in F.has_prog_type(200).reason
    assert not F.has_map_type(200)


@pytest.mark.parametrize("t", since((4, 19), MapType.HASH, MapType.ARRAY,
                                    MapType.PERF_EVENT_ARRAY, MapType.HASH_OF_MAPS,
                                    MapType.CGROUP_STORAGE)
                         + since((5, 8), MapType.RINGBUF) + since((5, 11), MapType.TASK_STORAGE)
                         + since((5, 16), MapType.BLOOM_FILTER) + since((6, 9), MapType.ARENA)
                         + since((5, 6), MapType.STRUCT_OPS))
def test_map_types(t):
    assert F.has_map_type(t), F.has_map_type(t).reason


def test_ringbuf():
    assert bool(F.has_ringbuf()) == (F.kernel_version() >= (5, 8))


def test_helpers():
    # bpf_map_lookup_elem is everywhere; skb_store_bytes is not for kprobes; 9999 is no helper
    assert F.has_helper(ProgType.KPROBE, 1)
    no = F.has_helper(ProgType.KPROBE, 9)
    assert not no and "bpf_skb_store_bytes" in no.reason
    assert not F.has_helper(ProgType.KPROBE, 9999)


@pytest.mark.parametrize("t", since((5, 7), ProgType.TRACING))
def test_helpers_of_tracing_programs(t):
    # probed through tp_btf, which loads even where fentry is refused
    assert F.has_helper(t, 14), F.has_helper(t, 14).reason  # get_current_pid_tgid
    assert not F.has_helper(t, 9)                          # skb_store_bytes
    assert not F.has_helper(ProgType.LSM, 14)              # no probe: says so
    assert "cannot probe" in F.has_helper(ProgType.LSM, 14).reason


def test_trampolines_answer_with_reason():
    # KERNEL.md: on the CI VMs fentry loads fail with EPERM and an empty log
    t = F.has_trampolines()
    assert t.reason
    if not t:
        assert "refused with E" in t.reason or "no kernel BTF function" in t.reason
    assert F.has_link_type(LinkType.TRACING) == t


def test_kprobes_and_uprobes_follow_the_pmus():
    pmu = os.path.exists("/sys/bus/event_source/devices/kprobe")
    events = os.path.exists("/sys/kernel/tracing/kprobe_events")
    assert bool(F.has_kprobes()) == (pmu or events)
    assert "kprobe" in F.has_kprobes().reason
    assert F.has_uprobes()


def test_kprobe_multi_answers():
    s = F.has_link_type(LinkType.KPROBE_MULTI)
    assert s.reason and (s or "EOPNOTSUPP" in s.reason or "EINVAL" in s.reason)


@pytest.mark.parametrize("lt", since((5, 7), LinkType.RAW_TRACEPOINT, LinkType.CGROUP)
                         + since((5, 8), LinkType.ITER) + since((5, 15), LinkType.PERF_EVENT)
                         + since((6, 6), LinkType.TCX, LinkType.UPROBE_MULTI))
def test_link_types(lt):
    assert F.has_link_type(lt), F.has_link_type(lt).reason


def test_link_type_without_probe():
    with pytest.raises(ValueError, match="XDP"):
        F.has_link_type(LinkType.XDP)


def test_btf_features_and_kinds():
    feats = F.btf_features()
    from pybpf.btf.fixup import FEATURES
    assert feats <= FEATURES and {"func", "func_global", "datasec"} <= feats
    if F.kernel_version() >= (6, 6):
        assert feats == FEATURES  # recent kernels accept everything sanitize knows about
    kinds = F.btf_kinds()
    assert BTFKind.STRUCT in kinds and BTFKind.UNKN not in kinds
    assert (BTFKind.ENUM64 in kinds) == ("enum64" in feats)
    assert (BTFKind.TYPE_TAG in kinds) == ("type_tag" in feats)


def test_btf_probe_can_say_no():
    # an unknown kind (31) must be refused, or the probes above would prove nothing
    bogus = F._btf_type(0, 31, 0, 4)
    with pytest.raises(Exception):
        btf_load(F._btf_blob(bogus, b"\0"))


def test_probes_are_cached():
    a = F.has_map_type(MapType.HASH)
    assert F.has_map_type(MapType.HASH) is a
    F.clear_cache()
    assert F.has_map_type(MapType.HASH) == a


def test_report_rows():
    rows = dict(F.report())
    assert rows["ringbuf"] == F.has_ringbuf() and rows["kprobes"] == F.has_kprobes()
    assert "func" in rows["BTF features"].reason
