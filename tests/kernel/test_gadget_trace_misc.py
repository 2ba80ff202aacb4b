"""trace_open, trace_signal and trace_capabilities against the kernel."""
import ctypes
import errno
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import uuid

import pytest
from test_gadget_trace_support import CLIRun, collect, require

from pybpf_gadgets import trace_capabilities, trace_open, trace_signal
from pybpf_gadgets.common.syscalls import syscall_name

ME = os.getpid()


@pytest.mark.vm
def test_open_fields_and_paths(tmp_path):
    require(trace_open.GADGET)
    tag = f"pybpf-open-{uuid.uuid4().hex[:8]}"
    target = tmp_path / tag
    missing = tmp_path / (tag + "-missing")
    sub = tmp_path / "sub"
    sub.mkdir(exist_ok=True)

    def trigger():
        fd = os.open(str(target), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o640)
        os.close(fd)
        try:
            os.open(str(missing), os.O_RDONLY)
        except OSError:
            pass
        dfd = os.open(str(sub), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.close(os.open("../" + tag, os.O_RDONLY, dir_fd=dfd))
        finally:
            os.close(dfd)

    with trace_open.run(pid=ME, paths=True) as run:
        events = collect(run, trigger, lambda e: tag in e["fname"], want=3)
    created = [e for e in events if e["fname"] == str(target)][0]
    assert created["fd"] >= 0 and created["error"] == ""
    assert created["flags"] == "O_WRONLY|O_CREAT|O_CLOEXEC"
    assert created["mode"] == "0640" and created["path"] == str(target)
    failed = [e for e in events if e["fname"] == str(missing)][0]
    assert failed["fd"] == -1 and failed["error"] == "ENOENT" and failed["ret"] == -2
    assert failed["path"] == ""
    rel = [e for e in events if e["fname"] == "../" + tag][0]
    assert rel["path"] == str(target) and isinstance(rel["dfd"], int)
    assert rel["proc"]["pid"] == ME and rel["proc"]["comm"]


def test_open_cli_json_failed_only(tmp_path):
    tag = f"pybpf-open-{uuid.uuid4().hex[:8]}"
    missing = str(tmp_path / tag)

    def trigger():
        subprocess.run(["cat", missing], stderr=subprocess.DEVNULL)
        subprocess.run(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL)

    cli = CLIRun("trace_open", "-o", "json", "--timeout", "120", "--failed", "--comm", "cat")
    try:
        line = cli.wait_for(trigger, lambda s: tag in s)
        other = [cli.lines.get_nowait() for _ in range(cli.lines.qsize())]
    finally:
        rc, err = cli.stop()
    assert line is not None, err
    e = json.loads(line)
    assert e["error"] == "ENOENT" and e["proc"]["comm"] == "cat" and e["fname"] == missing
    assert all(json.loads(x).get("fd", -1) == -1 for x in other if x.startswith("{\"time"))
    assert rc == 0


@pytest.mark.vm
def test_signal_kill_and_errors():
    require(trace_signal.GADGET)
    def trigger():
        p = subprocess.Popen(["sleep", "30"])
        os.kill(p.pid, signal.SIGTERM)
        p.wait()
        try:
            os.kill(0x3FFFFFF0, 0)  # no such process
        except OSError:
            pass
        trigger.pids.append(p.pid)
    trigger.pids = []

    with trace_signal.run(pid=ME) as run:
        events = collect(run, trigger, lambda e: True, want=2)
    sent = [e for e in events if e["signal"] == "SIGTERM"][0]
    assert sent["kind"] == "kill" and sent["target"]["pid"] in trigger.pids
    assert sent["ret"] == 0 and sent["error"] == "" and sent["proc"]["pid"] == ME
    failed = [e for e in events if e["signal_raw"] == 0][0]
    assert failed["error"] == "ESRCH" and failed["ret"] == -3


def test_signal_tgkill_cli_filter_by_signal():
    def trigger():
        p = subprocess.Popen(["sleep", "30"])
        signal.pthread_kill  # noqa: B018 (tgkill on ourselves would hit us)
        os.kill(p.pid, signal.SIGUSR1)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()

    cli = CLIRun("trace_signal", "-o", "json", "--timeout", "120", "--pid", str(ME),
                 "--signal", "KILL")
    try:
        line = cli.wait_for(trigger, lambda s: s.startswith("{"))
        rest = [cli.lines.get_nowait() for _ in range(cli.lines.qsize())]
    finally:
        rc, err = cli.stop()
    assert line is not None, err
    for text in [line] + rest:
        assert json.loads(text)["signal"] == "SIGKILL"
    assert rc == 0


def bind_low_port(port: int = 81) -> None:
    """A bind to a port below 1024: an audited CAP_NET_BIND_SERVICE check."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        pass
    s.close()


@pytest.mark.vm  # the kprobe fallback, arm64's build and syscall table where no tracepoint
def test_capabilities_bind_low_port_as_root():
    require(trace_capabilities.GADGET)
    with trace_capabilities.run(pid=ME, cap="NET_BIND_SERVICE") as run:
        events = collect(run, bind_low_port, lambda e: True)
    e = events[0]
    assert e["cap"] == "CAP_NET_BIND_SERVICE" and e["cap_raw"] == 10
    assert e["verdict"] == "allow" and e["ret"] == 0
    assert e["syscall"] == "bind" and e["proc"]["pid"] == ME


def test_capabilities_unique_shows_each_check_once():
    """As BCC's capable --unique: repeated binds give one (pid, capability, verdict) event."""
    require(trace_capabilities.GADGET)

    def three_binds():
        for _ in range(3):
            bind_low_port(84)

    with trace_capabilities.run(pid=ME, cap="NET_BIND_SERVICE", unique=True) as run:
        events = collect(run, three_binds, lambda e: True, settle=0.5)
    assert [(e["proc"]["pid"], e["cap"], e["verdict"]) for e in events] == \
        [(ME, "CAP_NET_BIND_SERVICE", "allow")]
    with trace_capabilities.run(pid=ME, cap="NET_BIND_SERVICE") as run:
        assert len(collect(run, three_binds, lambda e: True, want=3)) >= 3


def _refused_seccomp_filter() -> None:
    """prctl(PR_SET_SECCOMP) with a filter that has no return: the kernel asks
    ns_capable_noaudit(CAP_SYS_ADMIN) (no no_new_privs here), then refuses the
    filter (EINVAL), so nothing is installed. A non-audit check that reaches
    cap_capable() through security_capable() on every kernel. mmap's memory
    accounting check is not one: on 6.1 (kprobe form) it never shows, as
    cap_vm_enough_memory() calls cap_capable() within commoncap.c, where the
    compiler may inline it out of a kprobe's sight."""
    libc = ctypes.CDLL(None, use_errno=True)
    ulong = ctypes.c_ulong
    libc.prctl.argtypes = [ctypes.c_int, ulong, ulong, ulong, ulong]
    insn = ctypes.create_string_buffer(struct.pack("<HBBI", 0x20, 0, 0, 0))  # ld [0]
    fprog = ctypes.create_string_buffer(struct.pack("<H6xQ", 1, ctypes.addressof(insn)))
    assert libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0) == -1  # SECCOMP_MODE_FILTER
    assert ctypes.get_errno() == errno.EINVAL


def _noaudit_then_bind():
    """A non-audit CAP_SYS_ADMIN check, then a bind to a low port (an audited
    CAP_NET_BIND_SERVICE check)."""
    _refused_seccomp_filter()
    bind_low_port(83)


@pytest.mark.vm  # the kprobe form reads cap_capable()'s opts; the tracepoint's unwinds
def test_capabilities_audited_only_unless_verbose():
    """As BCC's capable: a check the kernel does not audit shows with -v only."""
    require(trace_capabilities.GADGET)
    with trace_capabilities.run(pid=ME) as run:
        quiet = collect(run, _noaudit_then_bind, lambda e: e["cap"] == "CAP_NET_BIND_SERVICE",
                        settle=0.3)
    assert quiet and all(e["audit"] for e in quiet)
    assert not [e for e in quiet if e["cap"] == "CAP_SYS_ADMIN" and e["syscall"] == "prctl"]
    with trace_capabilities.run(pid=ME, verbose=True) as run:
        loud = collect(run, _noaudit_then_bind,
                       lambda e: e["cap"] in ("CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"), want=2,
                       settle=0.3)
    kinds = {(e["cap"], e["syscall"], e["audit"]) for e in loud}
    assert ("CAP_SYS_ADMIN", "prctl", False) in kinds
    assert ("CAP_NET_BIND_SERVICE", "bind", True) in kinds


# one gadget start; prints whether /proc/kallsyms was opened (an audit hook sees every open)
START_ONCE = """
import sys
opened = []
sys.addaudithook(lambda ev, args: ev == "open" and args[0] == "/proc/kallsyms" and opened.append(1))
from pybpf_gadgets import trace_capabilities
with trace_capabilities.run(cap="NET_BIND_SERVICE") as run:
    pass
print(bool(opened))
"""


def test_capabilities_second_start_reads_no_kallsyms(tmp_path):
    """The non-audit ranges are cached per boot: the second start opens no kallsyms,
    and an entry changed on disk is ignored (read again, then trusted again)."""
    require(trace_capabilities.GADGET)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = dict(os.environ, XDG_CACHE_HOME=str(home))
    env.pop("PYBPF_NO_CORE_CACHE", None)

    def start():
        out = subprocess.run([sys.executable, "-c", START_ONCE], env=env, check=True,
                             capture_output=True, text=True).stdout
        return out.split()[-1] == "True"

    assert start() and not start()
    (entry,) = (home / "pybpf").glob("noaudit-ranges-*")
    raw = bytearray(entry.read_bytes())
    raw[-4] ^= 1  # the last digit of the last range's end (the body ends "]]}")
    entry.write_bytes(bytes(raw))
    assert start() and not start()


def test_capabilities_denied_in_user_namespace():
    require(trace_capabilities.GADGET)
    # in a new user namespace, sethostname() is denied: the UTS namespace
    # belongs to the initial user namespace
    tag = uuid.uuid4().hex[:6]

    def trigger():
        subprocess.run(["unshare", "-U", "sh", "-c", f"hostname x{tag}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    with trace_capabilities.run(comm="hostname", denied=True) as run:
        events = collect(run, trigger, lambda e: e["syscall"] == "sethostname")
    e = events[0]
    assert e["verdict"] == "deny" and e["ret"] != 0 and e["cap"] == "CAP_SYS_ADMIN"
    assert e["proc"]["comm"] == "hostname"
    assert syscall_name(e["syscall_raw"]) == "sethostname"


def test_lost_events_are_counted_and_reported(tmp_path):
    """A one-page ring buffer and a burst of opens: what does not fit is
    counted in the kernel and reported through on_lost, and the CLI's json
    output carries a lost record."""
    path = tmp_path / "burst"
    path.write_text("x")
    reports = []

    def burst():
        for _ in range(5000):
            os.close(os.open(str(path), os.O_RDONLY))

    with trace_open.run(pid=ME, ring_size=4096, on_lost=lambda d, t: reports.append((d, t)),
                        timeout=30) as run:
        seen = 0
        burst()
        for batch in run.batches():
            seen += sum(1 for e in batch if e["fname"] == str(path))
            if reports and not batch:
                break
    assert reports and run.lost == reports[-1][1] and run.lost > 0
    assert seen + run.lost >= 5000

    comm = os.path.basename(sys.executable)[:15]  # what the kernel names the child
    cli = CLIRun("trace_open", "-o", "json", "--timeout", "120", "--ring-size", "4096",
                 "--comm", comm)
    code = f"import os\nfor _ in range(5000): os.close(os.open({str(path)!r}, os.O_RDONLY))"
    try:
        line = cli.wait_for(lambda: subprocess.run([sys.executable, "-c", code]),
                            lambda s: s.startswith('{"type":"lost"'))
    finally:
        rc, err = cli.stop()
    assert line is not None, err
    record = json.loads(line)
    assert record["lost"] > 0 and record["lost_total"] >= record["lost"]


def test_openat2_flags_and_mode(tmp_path):
    import ctypes
    tag = f"pybpf-openat2-{uuid.uuid4().hex[:8]}"
    target = str(tmp_path / tag)
    libc = ctypes.CDLL(None, use_errno=True)

    class OpenHow(ctypes.Structure):  # uapi struct open_how (the syscall's argument)
        _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                    ("resolve", ctypes.c_uint64)]

    def trigger():
        how = OpenHow(os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600, 0)
        fd = libc.syscall(437, -100, target.encode(), ctypes.byref(how), ctypes.sizeof(how))
        if fd >= 0:
            os.close(fd)
            os.unlink(target)

    with trace_open.run(pid=ME) as run:
        events = collect(run, trigger, lambda e: e["fname"] == target)
    e = events[0]
    assert e["flags"] == "O_RDWR|O_CREAT|O_EXCL" and e["mode"] == "0600" and e["fd"] >= 0


def test_signal_generated_by_the_kernel():
    def trigger():
        # the child dies of SIGSEGV; the kernel sends SIGCHLD to us
        subprocess.run([sys.executable, "-c", "import ctypes; ctypes.string_at(0)"],
                       stderr=subprocess.DEVNULL)

    with trace_signal.run(generated=True, signal="SIGSEGV") as run:
        events = collect(run, trigger, lambda e: e["proc"]["comm"].startswith("python"))
    e = events[0]
    assert e["kind"] == "generated" and e["signal"] == "SIGSEGV"
    assert e["target"]["comm"].startswith("python") and e["target"]["pid"] == e["proc"]["pid"]
