"""The SEC() table: what a program's ELF section name means.

Each row follows libbpf's section_defs: a name pattern, the program type,
the expected attach type, flags (sleepable, needs a BTF attach target, XDP
frags) and how the program auto-attaches. Pattern forms, as in libbpf:
``"xdp"`` matches exactly, ``"tp+"`` matches ``tp`` or ``tp/anything``,
``"iter/"`` (trailing slash) matches only ``iter/anything``.

The table holds each row's arguments; a row's SecDef is made when a lookup
first finds it (``SECTION_DEFS``, every row, when first asked): a start looks
up its programs' few sections, and making all ~100 records cost most of this
module's import.
"""
from __future__ import annotations

from pybpf.records import FrozenRecord
from pybpf.uapi import bpf_attach_type as A
from pybpf.uapi import bpf_prog_flags
from pybpf.uapi import bpf_prog_type as P

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List, Optional, Tuple

    #: a row's SecDef arguments: pattern, program type, attach type, kind, attach method, flags
    Row = Tuple[str, P, int, str, Optional[str], Dict[str, bool]]


class SecDef(FrozenRecord):
    """One row of the SEC() table."""

    __slots__ = ("pattern", "prog_type", "expected_attach_type", "kind", "attach", "sleepable",
                 "attach_btf", "xdp_frags", "retprobe")

    pattern: str
    prog_type: P
    expected_attach_type: int
    kind: str  # family name, e.g. "tracepoint", "kprobe", "xdp"
    attach: Optional[str]  # auto-attach method (pybpf.links), None if manual only
    sleepable: bool
    attach_btf: bool  # the target is a kernel BTF id resolved at load time
    xdp_frags: bool
    retprobe: bool

    def __init__(
            self,
            pattern: str,
            prog_type: P,
            expected_attach_type: int = 0,
            kind: str = "",
            attach: Optional[str] = None,
            sleepable: bool = False,
            attach_btf: bool = False,
            xdp_frags: bool = False,
            retprobe: bool = False,
    ) -> None:
        object.__setattr__(self, "pattern", pattern)
        object.__setattr__(self, "prog_type", prog_type)
        object.__setattr__(self, "expected_attach_type", expected_attach_type)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "attach", attach)
        object.__setattr__(self, "sleepable", sleepable)
        object.__setattr__(self, "attach_btf", attach_btf)
        object.__setattr__(self, "xdp_frags", xdp_frags)
        object.__setattr__(self, "retprobe", retprobe)

    @property
    def prefix(self) -> str:
        return self.pattern.rstrip("+")

    def matches(self, section: str) -> bool:
        return _matches(self.pattern, section)

    def target(self, section: str) -> str:
        """The attach target written after the prefix (``""`` if none)."""
        if self.pattern.endswith("/"):
            return section[len(self.pattern):]
        if self.pattern.endswith("+"):
            return section[len(self.pattern):]  # drops the '/' after the base
        return ""

    @property
    def prog_flags(self) -> int:
        flags = bpf_prog_flags.SLEEPABLE if self.sleepable else 0
        if self.xdp_frags:
            flags |= bpf_prog_flags.XDP_HAS_FRAGS
        return int(flags)

    def btf_target(self, target: str) -> Optional[Tuple[str, str]]:
        """(kernel BTF name, BTF kind) naming the attach target, for attach_btf rows."""
        if not self.attach_btf or self.prog_type == P.EXT:
            return None
        if self.kind == "tp_btf":
            return "btf_trace_" + target, "typedef"
        if self.kind == "lsm":
            return "bpf_lsm_" + target, "func"
        if self.kind == "iter":
            return "bpf_iter_" + target, "func"
        return target, "func"


def _matches(pattern: str, section: str) -> bool:
    if pattern.endswith("/"):
        return section.startswith(pattern)
    if pattern.endswith("+"):
        base = pattern[:-1]
        return section == base or section.startswith(base + "/")
    return section == pattern


def _d(pattern: str, prog_type: P, attach_type: int = 0, kind: str = "", attach: Optional[str] = None,
       **flags: bool) -> Row:
    return pattern, prog_type, int(attach_type), kind or pattern.rstrip("+/"), attach, flags


# Order matters: the first matching row wins (longer names before their prefixes).
_ROWS: Tuple[Row, ...] = (
    _d("socket", P.SOCKET_FILTER, attach="socket"),
    _d("sk_reuseport/migrate", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE, "sk_reuseport"),
    _d("sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT),
    _d("kprobe+", P.KPROBE, attach="kprobe"),
    _d("uprobe+", P.KPROBE, attach="uprobe"),
    _d("uprobe.s+", P.KPROBE, kind="uprobe", attach="uprobe", sleepable=True),
    _d("kretprobe+", P.KPROBE, attach="kprobe", retprobe=True),
    _d("uretprobe+", P.KPROBE, attach="uprobe", retprobe=True),
    _d("uretprobe.s+", P.KPROBE, kind="uretprobe", attach="uprobe", sleepable=True, retprobe=True),
    _d("kprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI, attach="kprobe_multi"),
    _d("kretprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI, attach="kprobe_multi", retprobe=True),
    _d("kprobe.session+", P.KPROBE, A.TRACE_KPROBE_SESSION, attach="kprobe_multi"),
    _d("uprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI, attach="uprobe_multi"),
    _d("uretprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI, attach="uprobe_multi", retprobe=True),
    _d("uprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, "uprobe.multi", "uprobe_multi",
       sleepable=True),
    _d("uretprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, "uretprobe.multi", "uprobe_multi",
       sleepable=True, retprobe=True),
    _d("ksyscall+", P.KPROBE, attach="ksyscall"),
    _d("kretsyscall+", P.KPROBE, attach="ksyscall", retprobe=True),
    _d("usdt+", P.KPROBE, attach="usdt"),
    _d("usdt.s+", P.KPROBE, kind="usdt", attach="usdt", sleepable=True),
    _d("tc/ingress", P.SCHED_CLS, A.TCX_INGRESS, "tcx", "tcx"),
    _d("tc/egress", P.SCHED_CLS, A.TCX_EGRESS, "tcx", "tcx"),
    _d("tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS, "tcx", "tcx"),
    _d("tcx/egress", P.SCHED_CLS, A.TCX_EGRESS, "tcx", "tcx"),
    _d("tc", P.SCHED_CLS),
    _d("classifier", P.SCHED_CLS, kind="tc"),
    _d("action", P.SCHED_ACT),
    _d("netkit/primary", P.SCHED_CLS, A.NETKIT_PRIMARY, "netkit"),
    _d("netkit/peer", P.SCHED_CLS, A.NETKIT_PEER, "netkit"),
    _d("tracepoint+", P.TRACEPOINT, attach="tracepoint"),
    _d("tp+", P.TRACEPOINT, kind="tracepoint", attach="tracepoint"),
    _d("raw_tracepoint+", P.RAW_TRACEPOINT, kind="raw_tp", attach="raw_tp"),
    _d("raw_tp+", P.RAW_TRACEPOINT, attach="raw_tp"),
    _d("raw_tracepoint.w+", P.RAW_TRACEPOINT_WRITABLE, kind="raw_tp.w", attach="raw_tp"),
    _d("raw_tp.w+", P.RAW_TRACEPOINT_WRITABLE, attach="raw_tp"),
    _d("tp_btf+", P.TRACING, A.TRACE_RAW_TP, attach="tracing", attach_btf=True),
    _d("fentry+", P.TRACING, A.TRACE_FENTRY, attach="tracing", attach_btf=True),
    _d("fmod_ret+", P.TRACING, A.MODIFY_RETURN, attach="tracing", attach_btf=True),
    _d("fexit+", P.TRACING, A.TRACE_FEXIT, attach="tracing", attach_btf=True),
    _d("fentry.s+", P.TRACING, A.TRACE_FENTRY, "fentry", "tracing", attach_btf=True,
       sleepable=True),
    _d("fmod_ret.s+", P.TRACING, A.MODIFY_RETURN, "fmod_ret", "tracing", attach_btf=True,
       sleepable=True),
    _d("fexit.s+", P.TRACING, A.TRACE_FEXIT, "fexit", "tracing", attach_btf=True,
       sleepable=True),
    _d("freplace+", P.EXT, attach="tracing", attach_btf=True),
    _d("lsm+", P.LSM, A.LSM_MAC, attach="lsm", attach_btf=True),
    _d("lsm.s+", P.LSM, A.LSM_MAC, "lsm", "lsm", attach_btf=True, sleepable=True),
    _d("lsm_cgroup+", P.LSM, A.LSM_CGROUP, "lsm_cgroup", attach_btf=True),
    _d("iter+", P.TRACING, A.TRACE_ITER, attach="iter", attach_btf=True),
    _d("iter.s+", P.TRACING, A.TRACE_ITER, "iter", "iter", attach_btf=True, sleepable=True),
    _d("syscall", P.SYSCALL, sleepable=True),
    _d("xdp.frags/devmap", P.XDP, A.XDP_DEVMAP, "xdp", xdp_frags=True),
    _d("xdp/devmap", P.XDP, A.XDP_DEVMAP, "xdp"),
    _d("xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, "xdp", xdp_frags=True),
    _d("xdp/cpumap", P.XDP, A.XDP_CPUMAP, "xdp"),
    _d("xdp.frags", P.XDP, A.XDP, "xdp", "xdp", xdp_frags=True),
    _d("xdp", P.XDP, A.XDP, attach="xdp"),
    _d("perf_event", P.PERF_EVENT, attach="perf_event"),
    _d("lwt_in", P.LWT_IN),
    _d("lwt_out", P.LWT_OUT),
    _d("lwt_xmit", P.LWT_XMIT),
    _d("lwt_seg6local", P.LWT_SEG6LOCAL),
    _d("sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS, attach="cgroup"),
    _d("sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER, "sk_skb"),
    _d("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT, "sk_skb"),
    _d("sk_skb/verdict", P.SK_SKB, A.SK_SKB_VERDICT, "sk_skb"),
    _d("sk_skb", P.SK_SKB),
    _d("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT),
    _d("lirc_mode2", P.LIRC_MODE2, A.LIRC_MODE2),
    _d("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR),
    _d("cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS, "cgroup", "cgroup"),
    _d("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS, "cgroup", "cgroup"),
    _d("cgroup/skb", P.CGROUP_SKB, kind="cgroup"),
    _d("cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, "cgroup", "cgroup"),
    _d("cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE, "cgroup", "cgroup"),
    _d("cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, "cgroup", "cgroup"),
    _d("cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND, "cgroup", "cgroup"),
    _d("cgroup/post_bind6", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND, "cgroup", "cgroup"),
    _d("cgroup/bind4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND, "cgroup", "cgroup"),
    _d("cgroup/bind6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND, "cgroup", "cgroup"),
    _d("cgroup/connect4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT, "cgroup", "cgroup"),
    _d("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT, "cgroup", "cgroup"),
    _d("cgroup/connect_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT, "cgroup", "cgroup"),
    _d("cgroup/sendmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG, "cgroup", "cgroup"),
    _d("cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG, "cgroup", "cgroup"),
    _d("cgroup/sendmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG, "cgroup", "cgroup"),
    _d("cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG, "cgroup", "cgroup"),
    _d("cgroup/recvmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG, "cgroup", "cgroup"),
    _d("cgroup/recvmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG, "cgroup", "cgroup"),
    _d("cgroup/getpeername4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME, "cgroup",
       "cgroup"),
    _d("cgroup/getpeername6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME, "cgroup",
       "cgroup"),
    _d("cgroup/getpeername_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME, "cgroup",
       "cgroup"),
    _d("cgroup/getsockname4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME, "cgroup",
       "cgroup"),
    _d("cgroup/getsockname6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME, "cgroup",
       "cgroup"),
    _d("cgroup/getsockname_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME, "cgroup",
       "cgroup"),
    _d("cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL, "cgroup", "cgroup"),
    _d("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT, "cgroup", "cgroup"),
    _d("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT, "cgroup", "cgroup"),
    _d("cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE, "cgroup", "cgroup"),
    _d("struct_ops+", P.STRUCT_OPS),
    _d("struct_ops.s+", P.STRUCT_OPS, kind="struct_ops", sleepable=True),
    _d("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP),
    _d("netfilter", P.NETFILTER, A.NETFILTER),
)


_made: Dict[int, SecDef] = {}


def _row(index: int) -> SecDef:
    """Row ``index`` as a SecDef, made once."""
    made = _made.get(index)
    if made is None:
        pattern, prog_type, attach_type, kind, attach, flags = _ROWS[index]
        made = _made[index] = SecDef(pattern, prog_type, attach_type, kind, attach, **flags)
    return made


def find_sec_def(section: str) -> Optional[SecDef]:
    """The SEC() table row for ``section`` (None if the name is unknown)."""
    for index, row in enumerate(_ROWS):
        if _matches(row[0], section):
            return _row(index)
    return None


if TYPE_CHECKING:
    SECTION_DEFS: Tuple[SecDef, ...]
else:
    def __getattr__(name: str) -> Tuple[SecDef, ...]:
        if name != "SECTION_DEFS":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        table = globals()[name] = tuple(_row(index) for index in range(len(_ROWS)))
        return table

    def __dir__() -> List[str]:
        return sorted({*globals(), "SECTION_DEFS"})

