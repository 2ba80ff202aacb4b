"""trace_mount against the kernel: a tmpfs mounted and unmounted in a
private mount namespace, and the new mount API on a detached mount."""
import ctypes
import os
import subprocess
import uuid

import pytest
from test_gadget_trace_support import collect

from pybpf_gadgets import trace_mount

libc = ctypes.CDLL(None, use_errno=True)
NR_FSOPEN, NR_FSCONFIG, NR_FSMOUNT = 430, 431, 432  # x86_64


def test_mount_umount_in_private_namespace(tmp_path):
    tag = f"pybpf{uuid.uuid4().hex[:8]}"
    where = tmp_path / "mnt"
    where.mkdir()
    script = f"mount -t tmpfs -o size=1m,mode=0700 {tag} {where} && umount {where}"

    def trigger():
        subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       check=True)

    with trace_mount.run() as run:
        events = collect(run, trigger, lambda e: e["source"] == tag or
                         (e["op"] == "umount" and e["target"] == str(where)), want=2)
    mount = [e for e in events if e["op"] == "mount"][0]
    assert mount["target"] == str(where) and mount["fstype"] == "tmpfs"
    assert "size=1m" in mount["data"] and mount["ret"] == 0 and mount["error"] == ""
    assert mount["proc"]["comm"] == "mount" and mount["latency_ns"] > 0
    assert mount["proc"]["mntns_id"] != os.stat("/proc/self/ns/mnt").st_ino
    umount = [e for e in events if e["op"] == "umount"][0]
    assert umount["ret"] == 0 and umount["proc"]["comm"] == "umount"


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers are x86_64's")
def test_new_mount_api_and_errors():
    tag = f"pybpf{uuid.uuid4().hex[:8]}"
    me = os.getpid()

    def trigger():
        fs = libc.syscall(NR_FSOPEN, b"tmpfs", 1)
        assert fs >= 0, os.strerror(ctypes.get_errno())
        try:
            assert libc.syscall(NR_FSCONFIG, fs, 1, b"source", tag.encode(), 0) == 0
            assert libc.syscall(NR_FSCONFIG, fs, 6, None, None, 0) == 0
            mnt = libc.syscall(NR_FSMOUNT, fs, 1, 0)
            if mnt >= 0:
                os.close(mnt)  # detached: freed on close, never in our tree
        finally:
            os.close(fs)
        libc.syscall(NR_FSOPEN, b"no-such-fs-" + tag.encode(), 0)

    with trace_mount.run(pid=me) as run:
        events = collect(run, trigger, lambda e: e["op"] != "umount", want=5)
    ops = [e["op"] for e in events]
    assert ops[:5] == ["fsopen", "fsconfig", "fsconfig", "fsmount", "fsopen"]
    assert events[0]["fstype"] == "tmpfs" and events[0]["ret"] >= 0
    assert events[1]["data"] == "source" and events[1]["source"] == tag
    assert events[1]["flags"] == "FSCONFIG_SET_STRING"
    assert events[2]["flags"] == "FSCONFIG_CMD_CREATE" and events[2]["fd"] == events[0]["ret"]
    assert events[4]["error"] == "ENODEV" and events[4]["fstype"].startswith("no-such-fs-")
