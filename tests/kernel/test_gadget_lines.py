"""The CLI's lines made from records (pybpf_gadgets.common.lines) against the
kernel: for real records of several trace gadgets, each JSON line and each
column row is exactly what the general path writes for the presented event."""
import json
import os
import socket
import subprocess
import time
import uuid

import pytest
from test_gadget_trace_support import require

from pybpf_gadgets import (
    trace_bind,
    trace_capabilities,
    trace_exec,
    trace_mount,
    trace_open,
    trace_signal,
    trace_tcp,
)
from pybpf_gadgets.common import lines
from pybpf_gadgets.common.output import ColumnWriter, JSONWriter


def _records(run, trigger):
    """The records of what ``trigger`` did; a trigger that returns a text made the
    events it is shown in (its own, not another process's)."""
    mark = trigger()
    time.sleep(0.2)
    records = run._reader.read_batch(timeout=2)
    assert mark is None or any(mark in _general(run, JSONWriter(), r) for r in records)
    return records


def _general(run, writer, record) -> str:
    event = run.present(record)
    if isinstance(writer, JSONWriter):
        return json.dumps(event, separators=(",", ":"), default=str)
    return writer.row(event)


def _writers(gadget):
    return [JSONWriter(), ColumnWriter(gadget), ColumnWriter(gadget, width=70),
            ColumnWriter(gadget, [f.name for f in gadget.all_fields])]


def _open_many():
    """Names that need escaping (quote, backslash, controls, non-ASCII, bytes that are
    not UTF-8), opens that fail and ones that succeed, a name longer than the event keeps."""
    odd = ["\u00e9-\x01", 'say "hi"\\', "tab\tnl\n\x7f", "\u2028-\U0001f600"]
    for i in range(60):
        name: object = f"/nonexistent/pybpf-jl-{odd[i % len(odd)]}-{i}"
        if i % 5 == 0:
            name = b"/nonexistent/pybpf-jl-\xff\xfe\xc3-" + bytes([i % 32 + 1]) + b"x" * 300
        elif i % 3 == 0:
            name = "/proc/self/stat"
        try:
            os.close(os.open(name, os.O_RDONLY))
        except OSError:
            pass


def _exec_many():
    tag = f"pybpf-jl-{uuid.uuid4().hex[:8]}"
    for i in range(5):
        subprocess.run(["/bin/echo", tag, "caf\u00e9", "say \"hi\"\\", str(i)],
                       stdout=subprocess.DEVNULL)


def _signal_many():
    for _ in range(5):
        os.kill(os.getpid(), 0)
        p = subprocess.Popen(["/bin/sleep", "5"])
        p.kill()
        p.wait()


def _chown_many():
    path = f"/tmp/pybpf-jl-{uuid.uuid4().hex[:8]}"
    open(path, "w").close()
    try:
        for uid in range(1, 6):
            os.chown(path, uid, uid)  # CAP_CHOWN, an audited check
    finally:
        os.unlink(path)


def _bind_many():
    """Binds that succeed (v4, v6 with options and a device) and one that fails."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    try:
        for _ in range(3):
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
                s.bind(("::1", 0))
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", taken.getsockname()[1]))  # EADDRINUSE
                except OSError:
                    pass
    finally:
        taken.close()


def _mount_many():
    """A tmpfs mounted with odd options and unmounted in a private mount namespace,
    and a mount that fails; the tag its events show."""
    tag = f"pybpf-jl-{uuid.uuid4().hex[:8]}"
    script = (f"d=$(mktemp -d) && mount -t tmpfs -o size=1m,mode=0700 '{tag}\\x' \"$d\" && "
              f"umount \"$d\"; mount -t no-such-fs-{tag} none \"$d\" 2>/dev/null; rmdir \"$d\"")
    subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                   check=True)
    return tag


def _tcp_many():
    """Connects accepted and closed on IPv4 and IPv6, and one refused."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family) as srv:
            srv.bind((host, 0))
            srv.listen()
            port = srv.getsockname()[1]
            with socket.create_connection((host, port)):
                srv.accept()[0].close()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    try:
        socket.create_connection(("127.0.0.1", port)).close()
    except OSError:
        pass


@pytest.mark.parametrize("module, options, trigger", [
    (trace_open, {"pid": os.getpid()}, _open_many),
    (trace_open, {"pid": os.getpid(), "paths": True}, _open_many),
    (trace_exec, {}, _exec_many),
    (trace_signal, {}, _signal_many),
    (trace_signal, {"generated": True}, _signal_many),
    (trace_capabilities, {"pid": os.getpid()}, _chown_many),
    (trace_bind, {"pid": os.getpid()}, _bind_many),
    (trace_mount, {}, _mount_many),
    (trace_tcp, {"pid": os.getpid()}, _tcp_many),
], ids=["trace_open", "trace_open-paths", "trace_exec", "trace_signal", "trace_signal-generated",
        "trace_capabilities",
        "trace_bind", "trace_mount", "trace_tcp"])
def test_lines_equal_what_the_general_path_writes(module, options, trigger):
    require(module.GADGET)
    with module.run(**options) as run:
        records = _records(run, trigger)
        assert records
        for writer in _writers(module.GADGET):
            render = lines.for_run(run, writer)
            assert render is not None
            assert "line" in vars(render)  # the Declared gadget's generated line is what runs
            expected = [_general(run, writer, r) for r in records]
            assert [render.line(r) for r in records] == expected
            render._kept_since -= lines.KEEP_SECONDS  # dropped kept parts give the same
            render.fresh()
            assert not render._kept
            assert [render.line(r) for r in records] == expected


def test_lines_only_where_the_general_path_is_not_needed():
    require(trace_open.GADGET)
    with trace_open.run(pid=os.getpid(), filters=["fd>=0"]) as run:
        assert lines.for_run(run, JSONWriter()) is None
        assert lines.for_run(run, ColumnWriter(trace_open.GADGET)) is None
    with trace_open.run(pid=os.getpid()) as run:
        assert lines.for_run(run, JSONWriter(["proc.comm"])) is None
        assert lines.for_run(run, ColumnWriter(trace_open.GADGET, ["proc.comm"])) is not None
        assert lines.for_run(run, JSONWriter()) is not None
    require(trace_capabilities.GADGET)
    with trace_capabilities.run(pid=os.getpid(), unique=True) as run:  # keep() drops repeats
        assert lines.for_run(run, JSONWriter()) is None
