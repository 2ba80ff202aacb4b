"""pybpf.features against the running kernel.

Each probe's answer is checked against independent evidence from the kernel itself, never
against a version number: the kernel's own BTF names the program, map, link and helper
enumerators it was built with, and the struct members its uapi has (a raw_tp link's cookie, the
BTF info's kernel_btf flag...). Where a probe has no such witness it must at least answer with a
reason.
"""
from __future__ import annotations

import os

import pytest

from pybpf import features as F
from pybpf.btf.types import Kind as BTFKind
from pybpf.errors import BPFError
from pybpf.sys import btf_load
from pybpf.uapi import LinkType, MapType, ProgType

pytestmark = pytest.mark.vm  # probes and layouts differ most between kernels


def test_support_is_truthy_with_reason():
    s = F.Support(True, "why")
    assert s and str(s) == "yes (why)"
    assert not F.Support(False, "nope") and str(F.Support(False)) == "no"


def test_kernel_version():
    major, minor, _ = F.kernel_version()
    assert (major, minor) >= (5, 0)
    assert F.kernel_version_code() >> 16 == major


VMLINUX_BTF = "/sys/kernel/btf/vmlinux"


@pytest.fixture(scope="module")
def btf_strings():
    """The raw vmlinux BTF: enumerator names show up as NUL-delimited strings in it."""
    try:
        with open(VMLINUX_BTF, "rb") as fh:
            return fh.read()
    except OSError as exc:
        pytest.skip(f"no kernel BTF to check probes against: {exc}")


def named(btf_strings: bytes, name: str) -> bool:
    """Whether the kernel's BTF has the exact string ``name`` (an enumerator, type or member)."""
    return b"\0" + name.encode() + b"\0" in btf_strings


def has_member(path, member: str) -> bool:
    """Whether struct/union ``path[0]`` reaches ``member`` through the members ``path[1:]``
    (the empty name walks into an anonymous struct/union) in the kernel's BTF."""
    from pybpf.btf.types import Kind
    from pybpf.core import kernel_btf
    spec = kernel_btf()
    ids = [i for i in spec.ids_by_name(path[0]) if spec.kind_of(i) in (Kind.STRUCT, Kind.UNION)]
    assert ids, f"kernel BTF has no struct {path[0]}"
    types = [spec[ids[0]]]
    for step in list(path[1:]) + [member]:
        found = []
        for t in types:
            for m in t.members:
                if m.name == step:
                    found.append(spec[spec.resolve(m.type)])
                elif m.name == "" and step != "":
                    # anonymous members are searched through, as C does
                    inner = spec[spec.resolve(m.type)]
                    found.extend(spec[spec.resolve(n.type)] for n in inner.members
                                 if n.name == step)
        if not found:
            return False
        types = [t for t in found if hasattr(t, "members")] or found
    return True


def ids(*values):
    return [pytest.param(v, id=v.name) for v in values]


@pytest.mark.parametrize("t", ids(ProgType.SOCKET_FILTER, ProgType.KPROBE, ProgType.TRACEPOINT,
                                  ProgType.RAW_TRACEPOINT, ProgType.PERF_EVENT, ProgType.XDP,
                                  ProgType.SCHED_CLS, ProgType.CGROUP_SOCK_ADDR,
                                  ProgType.TRACING, ProgType.SYSCALL, ProgType.NETFILTER))
def test_prog_types_match_kernel_btf(t, btf_strings):
    known = named(btf_strings, f"BPF_PROG_TYPE_{t.name}")
    assert bool(F.has_prog_type(t)) == known, F.has_prog_type(t).reason


def test_unknown_prog_type_and_map_type():
    assert not F.has_prog_type(200)
    assert "does not know" in F.has_prog_type(200).reason
    assert not F.has_map_type(200)


@pytest.mark.parametrize("t", ids(MapType.HASH, MapType.ARRAY, MapType.PERF_EVENT_ARRAY,
                                  MapType.HASH_OF_MAPS, MapType.CGROUP_STORAGE, MapType.RINGBUF,
                                  MapType.TASK_STORAGE, MapType.BLOOM_FILTER, MapType.ARENA,
                                  MapType.STRUCT_OPS))
def test_map_types_match_kernel_btf(t, btf_strings):
    known = named(btf_strings, f"BPF_MAP_TYPE_{t.name}")
    assert bool(F.has_map_type(t)) == known, F.has_map_type(t).reason


def test_ringbuf(btf_strings):
    assert bool(F.has_ringbuf()) == named(btf_strings, "BPF_MAP_TYPE_RINGBUF")


def test_helpers():
    # bpf_map_lookup_elem is everywhere; skb_store_bytes is not for kprobes; 9999 is no helper
    assert F.has_helper(ProgType.KPROBE, 1)
    no = F.has_helper(ProgType.KPROBE, 9)
    assert not no and "bpf_skb_store_bytes" in no.reason
    assert not F.has_helper(ProgType.KPROBE, 9999)


def test_helpers_of_tracing_programs():
    t = ProgType.TRACING
    if not F.has_prog_type(t):
        pytest.skip(str(F.has_prog_type(t)))
    # probed through tp_btf, which loads even where fentry is refused
    assert F.has_helper(t, 14), F.has_helper(t, 14).reason  # get_current_pid_tgid
    assert not F.has_helper(t, 9)                          # skb_store_bytes
    assert not F.has_helper(ProgType.LSM, 14)              # no probe: says so
    assert "cannot probe" in F.has_helper(ProgType.LSM, 14).reason


def test_trampolines_answer_with_reason():
    # KERNEL.md: on the CI VMs fentry loads fail with EPERM and an empty log;
    # arm64 6.1 loads them and refuses the attach with ENOTSUPP (vmtests)
    t = F.has_trampolines()
    assert t.reason
    if t:
        assert "attaches" in t.reason
    else:
        assert ("refused with E" in t.reason or "attaching it fails with E" in t.reason
                or "no kernel BTF function" in t.reason), t.reason
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


@pytest.mark.parametrize("lt", ids(LinkType.RAW_TRACEPOINT, LinkType.CGROUP, LinkType.ITER,
                                   LinkType.PERF_EVENT, LinkType.TCX, LinkType.UPROBE_MULTI))
def test_link_types_match_kernel_btf(lt, btf_strings):
    known = named(btf_strings, f"BPF_LINK_TYPE_{lt.name}")
    assert bool(F.has_link_type(lt)) == known, F.has_link_type(lt).reason


def test_attach_cookies_match_kernel_btf(btf_strings):
    # bpf_get_attach_cookie came with perf_event links, for kprobes and tracepoints alike
    helper = named(btf_strings, "BPF_FUNC_get_attach_cookie")
    for t in (ProgType.KPROBE, ProgType.TRACEPOINT):
        assert bool(F.has_attach_cookie(t)) == helper, F.has_attach_cookie(t).reason
    # tp_btf links keep a cookie in the kernel's raw_tp link object
    assert bool(F.has_tracing_cookie()) == has_member(["bpf_raw_tp_link"], "cookie"), \
        F.has_tracing_cookie().reason
    # and link info reports it once its raw_tracepoint part has the field
    reported = has_member(["bpf_link_info", "", "raw_tracepoint"], "cookie")
    assert bool(F.has_raw_tp_link_info_cookie()) == reported, F.has_raw_tp_link_info_cookie()


def test_commands_and_attrs_match_kernel_btf(btf_strings):
    assert bool(F.has_enable_stats()) == named(btf_strings, "BPF_ENABLE_STATS")
    assert bool(F.has_link_detach()) == named(btf_strings, "BPF_LINK_DETACH")
    assert bool(F.has_fd_array()) == has_member(["bpf_attr", ""], "fd_array"), F.has_fd_array()
    assert bool(F.has_kernel_btf_objects()) == has_member(["bpf_btf_info"], "kernel_btf")


def test_lookup_and_delete_answers():
    # arrays never delete; a hash map answers either way, with the reason
    assert not F.has_lookup_and_delete(MapType.ARRAY)
    s = F.has_lookup_and_delete(MapType.HASH)
    assert "HASH" in s.reason


def test_link_type_without_probe():
    with pytest.raises(ValueError, match="XDP"):
        F.has_link_type(LinkType.XDP)


def test_btf_features_and_kinds(btf_strings):
    feats = F.btf_features()
    from pybpf.btf.fixup import FEATURES
    assert feats <= FEATURES and {"func", "func_global", "datasec"} <= feats
    # each BTF kind the kernel's loader accepts is one its own btf.h names, and vice versa
    for feature, kind in (("float", "FLOAT"), ("decl_tag", "DECL_TAG"),
                          ("type_tag", "TYPE_TAG"), ("enum64", "ENUM64")):
        assert (feature in feats) == named(btf_strings, f"BTF_KIND_{kind}"), feature
    kinds = F.btf_kinds()
    assert BTFKind.STRUCT in kinds and BTFKind.UNKN not in kinds
    assert (BTFKind.ENUM64 in kinds) == ("enum64" in feats)
    assert (BTFKind.TYPE_TAG in kinds) == ("type_tag" in feats)


def test_btf_probe_can_say_no():
    # an unknown kind (31) must be refused, or the probes above would prove nothing
    bogus = F._btf_type(0, 31, 0, 4)
    with pytest.raises(BPFError):
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
