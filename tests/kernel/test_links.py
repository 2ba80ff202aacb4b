"""Every attach kind this kernel allows, seen firing (links_kinds.bpf.o),
and clear errors for the kinds it refuses (links_refused, links_fentry,
links_lsm)."""
from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import pybpf
from pybpf import features
from pybpf import sys as bpfsys
from pybpf.errors import BPFError, LinkError, MissingHookError, NotFoundError, syscall_error
from pybpf.links import (
    IterLink,
    LinkGroup,
    attach,
    attach_all,
    attach_iter,
    attach_kprobe,
    attach_perf_event,
    attach_raw_tracepoint,
    attach_tracepoint,
    attach_uprobe,
)
from pybpf.uapi import AttachType, LinkType

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K_TRACEPOINT, K_RAW_TP, K_TP_BTF, K_UPROBE, K_URETPROBE, K_PERF_EVENT, K_CONNECT4, \
    K_SOCKET, K_TC, K_ITER = range(10)

TARGET_C = r"""
#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) int add(int a, int b)
{
	asm volatile("" ::: "memory");
	return a + b;
}
int main(void)
{
	char go;
	int sum = 0;
	if (read(0, &go, 1) != 1)
		return 1;
	for (int i = 0; i < 7; i++)
		sum += add(40, 2);
	printf("%d\n", sum);
	return 0;
}
"""


OBJECTS = os.path.join(ROOT, "bpf", "objects")


@pytest.fixture(scope="module")
def coll():
    with pybpf.load(pybpf.arch_object(os.path.join(OBJECTS, "links_kinds.bpf.o"))) as c:
        c.maps["targ"][0] = os.getpid()
        yield c


def as_int(value) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "little")


def count(coll, kind: int) -> int:
    return as_int(coll.maps["counts"][kind])


def last(coll, kind: int) -> int:
    return as_int(coll.maps["last"][kind])


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def need(support) -> None:
    if not support:
        pytest.skip(str(support))


def bpfsys_error(cmd: str, err: int):
    return syscall_error(cmd, err)


def getppid_times(n: int) -> None:
    for _ in range(n):
        os.getppid()


def test_tracepoint_auto_attach_fires_and_close_detaches(coll):
    prog = coll.programs["on_tracepoint"]
    before = count(coll, K_TRACEPOINT)
    with attach(prog) as link:
        assert link.kind == "tracepoint" and link.target == "syscalls/sys_enter_getppid"
        # a BPF perf link from 5.15 on; the PERF_EVENT_IOC_SET_BPF ioctl before
        assert link.has_bpf_link == bool(features.has_link_type(LinkType.PERF_EVENT))
        if link.has_bpf_link:
            assert link.info.type == LinkType.PERF_EVENT
        getppid_times(5)
        assert count(coll, K_TRACEPOINT) == before + 5
    getppid_times(5)
    assert count(coll, K_TRACEPOINT) == before + 5
    assert link.closed


def test_group_detaches_perf_event_links_together_and_raises_the_first_failure(coll):
    prog = coll.programs["on_tracepoint"]
    links = [attach_tracepoint(prog, "syscalls", name)
             for name in ("sys_enter_getppid", "sys_exit_getppid", "sys_enter_getpid")]
    raw = attach(coll.programs["on_raw_tp"])
    assert all(link.alone for link in links) and not raw.alone

    def fail() -> None:
        raise LinkError("undo step failed")

    links[1].on_close(fail)
    group = LinkGroup([*links, raw])
    with pytest.raises(LinkError, match="undo step failed"):
        group.close()
    assert len(group) == 0 and all(link.closed for link in [*links, raw])
    before = count(coll, K_TRACEPOINT)
    getppid_times(3)
    assert count(coll, K_TRACEPOINT) == before


def test_tracepoint_ioctl_fallback_on_kernels_without_perf_links(coll, monkeypatch):
    """Before 5.15 BPF_LINK_CREATE(BPF_PERF_EVENT) fails with EINVAL: the
    link falls back to PERF_EVENT_IOC_SET_BPF, which this kernel still has."""
    real = bpfsys.link_create

    def old_kernel(prog_fd, target_fd, attach_type, *args, **kw):
        if attach_type == AttachType.PERF_EVENT:
            raise bpfsys_error("BPF_LINK_CREATE", 22)
        return real(prog_fd, target_fd, attach_type, *args, **kw)

    monkeypatch.setattr(bpfsys, "link_create", old_kernel)
    prog = coll.programs["on_tracepoint"]
    before = count(coll, K_TRACEPOINT)
    with attach_tracepoint(prog, "syscalls", "sys_enter_getppid") as link:
        assert not link.has_bpf_link
        with pytest.raises(LinkError):
            link.fd  # noqa: B018 (the property raises)
        getppid_times(3)
        assert count(coll, K_TRACEPOINT) == before + 3
    getppid_times(3)
    assert count(coll, K_TRACEPOINT) == before + 3


def test_missing_tracepoint_names_it(coll):
    with pytest.raises(MissingHookError, match="tracepoint syscalls/sys_enter_nosuchcall"):
        attach_tracepoint(coll.programs["on_tracepoint"], "syscalls", "sys_enter_nosuchcall")


def test_raw_tp_fires(coll):
    prog = coll.programs["on_raw_tp"]
    before = count(coll, K_RAW_TP)
    with attach(prog) as link:
        assert link.kind == "raw_tp" and link.info.type == LinkType.RAW_TRACEPOINT
        getppid_times(4)
        assert count(coll, K_RAW_TP) == before + 4
    getppid_times(4)
    assert count(coll, K_RAW_TP) == before + 4


def test_missing_raw_tracepoint_names_it(coll):
    with pytest.raises(MissingHookError, match="raw tracepoint no_such_raw_tp"):
        attach_raw_tracepoint(coll.programs["on_raw_tp"], "no_such_raw_tp")


def test_tp_btf_fires(coll):
    prog = coll.programs["on_tp_btf"]
    before = count(coll, K_TP_BTF)
    with attach(prog) as link:
        # RAW_TRACEPOINT_OPEN makes a raw_tp link for tp_btf programs
        assert link.kind == "tp_btf" and link.info.type == LinkType.RAW_TRACEPOINT
        getppid_times(6)
        assert count(coll, K_TP_BTF) == before + 6


def test_link_pin_outlives_fd(coll, pin_dir):
    need(features.has_link_type(LinkType.PERF_EVENT))
    prog = coll.programs["on_tracepoint"]
    before = count(coll, K_TRACEPOINT)
    with attach(prog) as link:
        link.pin(pin_dir / "tp_link")
    getppid_times(2)
    assert count(coll, K_TRACEPOINT) == before + 2  # the pin keeps it attached
    os.unlink(pin_dir / "tp_link")
    deadline = time.monotonic() + 5
    while True:  # the link is released once nothing references it
        mark = count(coll, K_TRACEPOINT)
        getppid_times(1)
        if count(coll, K_TRACEPOINT) == mark or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert count(coll, K_TRACEPOINT) == mark


@pytest.fixture(scope="module")
def target_exe(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uprobe")
    (tmp / "target.c").write_text(TARGET_C)
    exe = tmp / "target"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(tmp / "target.c")], check=True)
    return exe


def run_target(exe, links_for_pid):
    proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        links = links_for_pid(proc.pid)
        out, _ = proc.communicate(b"g", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return links, out


def test_uprobe_and_uretprobe_on_test_binary(coll, target_exe):
    up, uret = coll.programs["on_uprobe"], coll.programs["on_uretprobe"]
    b_up, b_ret = count(coll, K_UPROBE), count(coll, K_URETPROBE)

    def attach_both(pid):
        return LinkGroup([attach_uprobe(up, str(target_exe), "add", pid=pid),
                          attach(uret, binary=str(target_exe), symbol="add", pid=pid)])

    links, out = run_target(target_exe, attach_both)
    with links:
        assert [link.kind for link in links] == ["uprobe", "uretprobe"]
        assert out.strip() == b"294"
        assert count(coll, K_UPROBE) == b_up + 7 and count(coll, K_URETPROBE) == b_ret + 7
        assert last(coll, K_UPROBE) == 40 and last(coll, K_URETPROBE) == 42
        # the pid filter: another run of the binary is not seen
        subprocess.run([str(target_exe)], input=b"g", check=True, stdout=subprocess.DEVNULL)
        assert count(coll, K_UPROBE) == b_up + 7


def test_uprobe_on_libc_by_library_name(coll):
    prog = coll.programs["on_uprobe"]
    before = count(coll, K_UPROBE)
    with attach_uprobe(prog, "libc.so.6", "getppid", pid=os.getpid()) as link:
        assert "libc.so.6" in link.target
        getppid_times(3)
        assert count(coll, K_UPROBE) == before + 3


def test_uprobe_legacy_uprobe_events_removed_on_close(coll, target_exe, monkeypatch):
    """Without the uprobe PMU, uprobes go through tracefs uprobe_events."""
    from pybpf.links import perf_links, tracefs

    monkeypatch.setattr(perf_links, "_pmu", lambda kind: None)
    prog = coll.programs["on_uprobe"]
    before = count(coll, K_UPROBE)
    links, out = run_target(target_exe,
                            lambda pid: attach_uprobe(prog, str(target_exe), "add", pid=pid))
    events = os.path.join(tracefs.root(), "uprobe_events")
    with links as link:
        assert out.strip() == b"294"
        assert count(coll, K_UPROBE) == before + 7
        with open(events) as fh:
            mine = [line for line in fh if f"pybpf_{os.getpid()}_" in line]
        assert len(mine) == 1 and str(target_exe) in mine[0]
    with open(events) as fh:
        assert not [line for line in fh if f"pybpf_{os.getpid()}_" in line]
    assert link.closed


def test_uprobe_missing_symbol_and_binary(coll, target_exe):
    prog = coll.programs["on_uprobe"]
    with pytest.raises(MissingHookError, match="no_such_function"):
        attach_uprobe(prog, str(target_exe), "no_such_function")
    with pytest.raises(MissingHookError, match="/no/such/binary"):
        attach_uprobe(prog, "/no/such/binary", "main")


def test_perf_event_sampling_on_every_cpu(coll):
    prog = coll.programs["on_perf_event"]
    before = count(coll, K_PERF_EVENT)
    with attach(prog, freq=1000) as group:
        assert isinstance(group, LinkGroup)
        assert len(group) == len(bpfsys.perf.online_cpus())
        if features.has_link_type(LinkType.PERF_EVENT):
            assert all(link.info.type == LinkType.PERF_EVENT for link in group)
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            pass
        assert count(coll, K_PERF_EVENT) > before
    with pytest.raises(ValueError):
        attach_perf_event(prog)
    with LinkGroup() as outer:  # a group added to a group hands over its links
        inner = attach(prog, freq=10)
        assert outer.add(inner) is inner and len(inner) == 0
        assert len(outer.by_program("on_perf_event")) == len(bpfsys.perf.online_cpus())


@pytest.fixture
def cgroup(unique_name):
    path = os.path.join(cgroup2_root(), unique_name("pybpf_links_"))
    os.mkdir(path)
    yield path
    os.rmdir(path)


def cgroup2_root() -> str:
    """Where cgroup v2 is mounted (/sys/fs/cgroup/unified here, /sys/fs/cgroup elsewhere)."""
    with open("/proc/self/mounts") as fh:
        for line in fh:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    pytest.skip("no cgroup2 mount")


def connect_from_cgroup(cgroup: str, port: int) -> None:
    """A child process in ``cgroup`` makes one UDP connect() to 127.0.0.1:port."""
    code = textwrap.dedent(f"""
        import socket
        with open({cgroup + '/cgroup.procs'!r}, "w") as fh:
            fh.write("0")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", {port}))
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("fallback", [False, True], ids=["link", "prog_attach"])
def test_cgroup_connect4(coll, cgroup, fallback, monkeypatch):
    if fallback:  # kernels before 5.7 have no cgroup links
        def old_kernel(prog_fd, target_fd, attach_type, *args, **kw):
            raise bpfsys_error("BPF_LINK_CREATE", 22)

        monkeypatch.setattr(bpfsys, "link_create", old_kernel)
    coll.maps["targ"][1] = 47001
    prog = coll.programs["on_connect4"]
    before = count(coll, K_CONNECT4)
    with attach(prog, cgroup=cgroup) as link:
        assert link.kind == "cgroup" and "cgroup_inet4_connect" in link.target
        assert link.has_bpf_link != fallback
        connect_from_cgroup(cgroup, 47001)
        assert count(coll, K_CONNECT4) == before + 1
        assert last(coll, K_CONNECT4) == 47001
        # a process outside the cgroup is not seen
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect(("127.0.0.1", 47001))
        assert count(coll, K_CONNECT4) == before + 1
    connect_from_cgroup(cgroup, 47001)
    assert count(coll, K_CONNECT4) == before + 1
    if not fallback:  # BPF_LINK_DETACH: detached, fd kept until close
        with attach(prog, cgroup=cgroup) as link:
            link.detach()
            connect_from_cgroup(cgroup, 47001)
            assert count(coll, K_CONNECT4) == before + 1
            assert link.fd >= 0


def test_socket_filter_on_loopback(coll):
    coll.maps["targ"][1] = 47002
    prog = coll.programs["on_socket"]
    before = count(coll, K_SOCKET)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 47002))
        rx.settimeout(5)
        with attach(prog, sock=rx) as link:
            assert link.kind == "socket"
            for i in range(3):
                tx.sendto(b"x%d" % i, ("127.0.0.1", 47002))
                assert rx.recv(16) == b"x%d" % i
            assert count(coll, K_SOCKET) == before + 3
        tx.sendto(b"after", ("127.0.0.1", 47002))
        assert rx.recv(16) == b"after"
        assert count(coll, K_SOCKET) == before + 3


def test_iter_task_lists_this_process(coll):
    prog = coll.programs["on_iter_task"]
    before = count(coll, K_ITER)
    with attach(prog) as link:
        assert isinstance(link, IterLink) and link.info.type == LinkType.ITER
        text = link.read().decode()
        again = link.read().decode()
    rows = [line.split(" ", 1) for line in text.splitlines()]
    assert any(pid == str(os.getpid()) for pid, _ in rows)
    assert len(rows) > 10 and any(comm == "kthreadd" for _, comm in rows)
    assert again.count("\n") > 0
    assert count(coll, K_ITER) == before + 2


def test_iter_restricted_to_one_task(coll):
    try:
        link = attach_iter(coll.programs["on_iter_task"], task_pid=os.getpid())
    except LinkError as exc:
        if exc.errno == errno.E2BIG:  # iterator parameters for task iterators: 6.1+
            pytest.skip(str(exc))
        raise
    with link:
        pids = {line.split(" ", 1)[0] for line in link.read().decode().splitlines()}
    assert str(os.getpid()) in pids
    assert pids <= set(os.listdir(f"/proc/{os.getpid()}/task"))


def test_attach_all_attaches_auto_kinds_only(coll):
    before = fd_count()
    with coll.attach_all() as group:
        kinds = sorted(link.kind for link in group)
        assert kinds == ["iter", "raw_tp", "tp_btf", "tracepoint"]
        assert group.by_program("on_tracepoint")[0].target == "syscalls/sys_enter_getppid"
    assert fd_count() == before


def test_no_fd_leak_across_kinds(coll, cgroup, target_exe):
    before = fd_count()
    for _ in range(3):
        with attach(coll.programs["on_tracepoint"]), attach(coll.programs["on_raw_tp"]), \
                attach(coll.programs["on_tp_btf"]), attach(coll.programs["on_iter_task"]) as it, \
                attach(coll.programs["on_perf_event"], freq=100), \
                attach(coll.programs["on_connect4"], cgroup=cgroup), \
                attach_uprobe(coll.programs["on_uprobe"], str(target_exe), "add"):
            it.read()
        with pytest.raises(MissingHookError):
            attach_tracepoint(coll.programs["on_tracepoint"], "nope", "nope")
        with pytest.raises(MissingHookError):
            attach_uprobe(coll.programs["on_uprobe"], str(target_exe), "nope")
    assert fd_count() == before


KILLED_CHILD = """
import os, sys, time
sys.path.insert(0, {root!r})
import pybpf
from pybpf.links import attach
coll = pybpf.load({obj!r})
links = [attach(coll.programs["on_raw_tp"]), attach(coll.programs["on_tp_btf"])]
print(" ".join(str(link.info.id) for link in links), flush=True)
time.sleep(60)
"""


def test_killed_process_leaves_no_link(obj_path):
    code = KILLED_CHILD.format(root=ROOT, obj=str(obj_path("links_kinds")))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        ids = [int(x) for x in proc.stdout.readline().split()]
        assert len(ids) == 2
        for link_id in ids:
            with bpfsys.link_get_fd_by_id(link_id):
                pass  # alive while the process is
        listed = subprocess.run(["bpftool", "link", "list"], capture_output=True, text=True)
        assert all(f"{link_id}:" in listed.stdout for link_id in ids)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 5
    alive = ids
    while alive and time.monotonic() < deadline:
        alive = []
        for link_id in ids:
            try:
                bpfsys.link_get_fd_by_id(link_id).close()
                alive.append(link_id)
            except NotFoundError:
                pass
        time.sleep(0.05)
    assert not alive
    listed = subprocess.run(["bpftool", "link", "list"], capture_output=True, text=True).stdout
    assert not any(line.startswith(f"{link_id}:") for link_id in ids for line in listed.splitlines())


# --- kinds this kernel refuses -------------------------------------------------------------

@pytest.fixture(scope="module")
def refused():
    with pybpf.load(os.path.join(OBJECTS, "links_refused.bpf.o")) as c:
        yield c


def test_kprobe_refused_names_the_hook(refused):
    if features.has_kprobes():
        pytest.skip("this kernel has kprobes (test_links_vm.py attaches them)")
    before = fd_count()
    with pytest.raises(MissingHookError, match="kprobe do_nanosleep.*no kprobes"):
        attach(refused.programs["on_kprobe"])
    with pytest.raises(MissingHookError, match="kretprobe do_nanosleep"):
        attach(refused.programs["on_kretprobe"])
    with pytest.raises(MissingHookError, match="kprobe __x64_sys_getppid"):
        attach(refused.programs["on_ksyscall"])
    if not features.has_link_type(LinkType.KPROBE_MULTI):
        with pytest.raises(MissingHookError, match="kprobe.multi do_nano.*no kprobe_multi"):
            attach(refused.programs["on_kprobe_multi"])
    with pytest.raises(MissingHookError, match="kprobe vfs_read"):
        attach_kprobe(refused.programs["on_kprobe"], "vfs_read")
    assert fd_count() == before


def test_attach_all_fails_clearly_on_refused_hooks(refused):
    if features.has_kprobes():
        pytest.skip("this kernel has kprobes")
    before = fd_count()
    with pytest.raises(MissingHookError, match="program 'on_kprobe'"):
        attach_all(refused.programs)
    assert fd_count() == before


@pytest.mark.parametrize("name,program", [("links_fentry", "on_fentry"),
                                          ("links_lsm", "on_file_open")])
def test_trampoline_programs_refused_at_load_naming_the_program(obj_path, name, program):
    if features.has_trampolines():
        pytest.skip("this kernel runs trampolines (test_links_vm.py attaches fentry/fexit)")
    with pytest.raises(BPFError) as info:
        pybpf.load(obj_path(name))
    assert program in str(info.value).splitlines()[0]


def test_attach_without_needed_option_is_clear(coll):
    with pytest.raises(LinkError, match="needs cgroup="):
        attach(coll.programs["on_connect4"])
    with pytest.raises(MissingHookError, match="no_such_dev0"):
        attach(coll.programs["on_tc"], dev="no_such_dev0")
    with pytest.raises(LinkError, match="BINARY:FUNCTION"):
        attach(coll.programs["on_uprobe"])


def test_detach_unsupported_link_type_is_a_link_error(coll):
    with attach(coll.programs["on_raw_tp"]) as link:
        with pytest.raises(LinkError, match="cannot detach"):
            link.detach()


def test_tracepoint_cookie_needs_a_perf_link(coll):
    prog = coll.programs["on_tracepoint"]
    before = count(coll, K_TRACEPOINT)
    if not features.has_link_type(LinkType.PERF_EVENT):
        with pytest.raises(LinkError):  # no ioctl fallback: it cannot carry a cookie
            attach_tracepoint(prog, "syscalls", "sys_enter_getppid", cookie=7)
        return
    with attach_tracepoint(prog, "syscalls", "sys_enter_getppid", cookie=7) as link:
        assert link.has_bpf_link
        getppid_times(2)
    assert count(coll, K_TRACEPOINT) == before + 2


def test_tp_btf_cookie_through_link_create(coll):
    from pybpf.links import attach_tracing

    before = count(coll, K_TP_BTF)
    try:
        link = attach_tracing(coll.programs["on_tp_btf"], cookie=9)
    except LinkError as exc:
        if exc.errno == errno.EINVAL:  # BPF_LINK_CREATE for raw tracepoints: 6.10+
            pytest.skip(str(exc))
        raise
    with link:
        assert link.info.type == LinkType.RAW_TRACEPOINT
        getppid_times(2)
    assert count(coll, K_TP_BTF) == before + 2
