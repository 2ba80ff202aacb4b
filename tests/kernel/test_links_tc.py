"""Network attachments inside a private network namespace: TC (tcx links
and the clsact + bpf filter fallback over rtnetlink) and XDP, on a veth
pair and lo."""
from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import time

import pytest

import pybpf
from pybpf import features
from pybpf.errors import LinkError
from pybpf.links import attach, attach_tc
from pybpf.uapi import LinkType

OBJ = pybpf.arch_object(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                     "bpf", "objects", "links_kinds.bpf.o"))
K_TC = 8
K_XDP = 10
PORT = 47003
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@pytest.fixture
def netns(unique_name):
    """This thread inside a fresh netns with lo up and a veth pair d0 (10.77.0.1/24)
    <-> p0; 10.77.0.2 is a static neighbour on d0, so packets to it leave d0
    and arrive on p0."""
    name = unique_name("pybpf_ns_")
    subprocess.run(["ip", "netns", "add", name], check=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        for cmd in (["link", "set", "lo", "up"],
                    ["link", "add", "d0", "type", "veth", "peer", "name", "p0"],
                    ["addr", "add", "10.77.0.1/24", "dev", "d0"], ["link", "set", "d0", "up"],
                    ["link", "set", "p0", "up"],
                    ["neigh", "add", "10.77.0.2", "lladdr", "02:00:00:00:00:02", "dev", "d0"]):
            subprocess.run(["ip", "-n", name, *cmd], check=True)
        wait_carrier(name, "d0", "p0")
        target = os.open(f"/var/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(target)
        finally:
            os.close(target)
        try:
            yield name
        finally:
            setns(home)
    finally:
        os.close(home)
        subprocess.run(["ip", "netns", "del", name], check=True)


def wait_carrier(netns: str, *devs: str) -> None:
    """veth carrier comes up asynchronously: packets sent before are dropped."""
    deadline = time.monotonic() + 5
    for dev in devs:
        while True:
            out = subprocess.run(["ip", "-n", netns, "-o", "link", "show", dev],
                                 capture_output=True, text=True, check=True).stdout
            if "LOWER_UP" in out or time.monotonic() > deadline:
                break
            time.sleep(0.01)


@pytest.fixture(scope="module")
def coll():
    with pybpf.load(OBJ) as c:
        c.maps["targ"][1] = PORT
        yield c


def need_tcx() -> None:
    support = features.has_link_type(LinkType.TCX)
    if not support:
        pytest.skip(str(support))


def hits(coll, kind: int = K_TC) -> int:
    value = coll.maps["counts"][kind]
    return value if isinstance(value, int) else int.from_bytes(value, "little")


def send(dest: str, n: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(n):
            s.sendto(b"ping", (dest, PORT))


def tc_show(netns: str, *args: str) -> str:
    return subprocess.run(["tc", *args], capture_output=True, text=True, check=True).stdout


def test_auto_egress_on_veth(coll, netns):
    """mode="auto": a tcx link where the kernel has them (6.6+), else clsact."""
    before = hits(coll)
    with attach(coll.programs["on_tc"], dev="d0", direction="egress") as link:
        if features.has_link_type(LinkType.TCX):
            assert link.kind == "tcx" and link.info.type == LinkType.TCX
        else:
            assert link.kind == "tc" and not link.has_bpf_link
        send("10.77.0.2", 3)
        assert hits(coll) == before + 3
    send("10.77.0.2", 3)
    assert hits(coll) == before + 3


def test_tcx_ingress_on_veth_peer_and_detach(coll, netns):
    need_tcx()
    before = hits(coll)
    with attach_tc(coll.programs["on_tc"], "p0", "ingress", mode="tcx") as link:
        send("10.77.0.2", 2)
        assert hits(coll) == before + 2
        link.detach()
        send("10.77.0.2", 2)
        assert hits(coll) == before + 2


def test_clsact_fallback_filter_and_qdisc_removed_on_close(coll, netns):
    before = hits(coll)
    with attach_tc(coll.programs["on_tc"], "d0", "egress", mode="clsact") as link:
        assert link.kind == "tc" and not link.has_bpf_link
        assert "clsact" in tc_show(netns, "qdisc", "show", "dev", "d0")
        shown = tc_show(netns, "filter", "show", "dev", "d0", "egress")
        assert "on_tc" in shown and "direct-action" in shown
        send("10.77.0.2", 4)
        assert hits(coll) == before + 4
    assert "clsact" not in tc_show(netns, "qdisc", "show", "dev", "d0")
    send("10.77.0.2", 4)
    assert hits(coll) == before + 4


def test_clsact_two_filters_share_the_qdisc(coll, netns):
    prog = coll.programs["on_tc"]
    before = hits(coll)
    first = attach_tc(prog, "lo", "ingress", mode="clsact")
    second = attach_tc(prog, "lo", "ingress", mode="clsact")
    try:
        assert "handle 0x1" in first.target and "handle 0x2" in second.target
        send("127.0.0.1", 1)
        assert hits(coll) == before + 2
        first.close()  # made the qdisc, but the second filter still needs it
        assert "clsact" in tc_show(netns, "qdisc", "show", "dev", "lo")
        send("127.0.0.1", 1)
        assert hits(coll) == before + 3
    finally:
        first.close()
        second.close()
    assert "clsact" not in tc_show(netns, "qdisc", "show", "dev", "lo")


def test_existing_clsact_is_left_in_place(coll, netns):
    subprocess.run(["tc", "qdisc", "add", "dev", "d0", "clsact"], check=True)
    with attach_tc(coll.programs["on_tc"], "d0", "ingress", mode="clsact"):
        pass
    assert "clsact" in tc_show(netns, "qdisc", "show", "dev", "d0")
    assert "on_tc" not in tc_show(netns, "filter", "show", "dev", "d0", "ingress")


def test_tc_errors(coll, netns):
    with pytest.raises(ValueError):
        attach_tc(coll.programs["on_tc"], "d0", "sideways")
    with pytest.raises(LinkError, match="tcx"):
        attach_tc(coll.programs["on_tracepoint"], "d0", mode="tcx")
    with pytest.raises(LinkError, match="tc clsact"):
        attach_tc(coll.programs["on_tracepoint"], "d0", mode="clsact")
    assert "clsact" not in tc_show(netns, "qdisc", "show", "dev", "d0")


def test_xdp_on_veth_peer(coll, netns):
    before = hits(coll, K_XDP)
    with attach(coll.programs["on_xdp"], dev="p0") as link:
        assert link.kind == "xdp" and link.info.type == LinkType.XDP
        send("10.77.0.2", 3)
        assert hits(coll, K_XDP) == before + 3
    send("10.77.0.2", 3)
    assert hits(coll, K_XDP) == before + 3
