"""bpffs and tracefs: PINDIR checks, pins of the wrong kind, and a fresh host.

The fresh host is a private mount namespace (`unshare -m --propagation
private`) in which tracefs, debugfs and bpffs are unmounted first: the host's
mounts are never touched. There the main job (`pybpf run trace_exec`) must
mount tracefs itself and see an exec; a tp_btf-only gadget must run without
tracefs; `pybpf load` must mount bpffs under /sys/fs/bpf.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from exec_watch import ECHO, exec_events

import pybpf
from pybpf.errors import LoadError
from pybpf.sys import mounts

ROOT = Path(__file__).resolve().parents[2]
FRESH = ("umount -l /sys/kernel/tracing 2>/dev/null; umount -l /sys/kernel/debug 2>/dev/null; "
         "umount -l /sys/fs/bpf 2>/dev/null; ")


def obj(name: str) -> Path:
    return next((ROOT / "bpf" / "objects").rglob(f"{name}.bpf.o"))


def pybpf_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pybpf", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def fresh_host_script(command: str) -> str:
    """sh: unmount tracefs, debugfs and bpffs (make sure they are gone), then ``command``."""
    return (FRESH + "test -z \"$(grep -E ' (tracefs|debugfs|bpf) ' /proc/self/mounts)\" "
            "|| { echo 'mounts still there' >&2; exit 99; }; " + command)


def fresh_host(command: str) -> subprocess.Popen:
    """``command`` (sh) in a private mount namespace without tracefs, debugfs or bpffs."""
    return subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                             fresh_host_script(command)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_statfs_magic_names_the_file_systems(tmp_path):
    assert mounts.is_bpffs("/sys/fs/bpf")
    assert mounts.fs_magic("/sys/kernel/tracing") == mounts.TRACEFS_MAGIC
    assert not mounts.is_bpffs(str(tmp_path))
    assert mounts.fs_magic(str(tmp_path / "missing")) is None


def test_load_into_a_non_bpffs_directory_creates_nothing(tmp_path):
    target = tmp_path / "progs" / "deeper"
    got = pybpf_cli("load", obj("minimal"), target)
    assert got.returncode != 0
    (line,) = got.stderr.strip().splitlines()
    assert str(target) in line and "not on a BPF file system (bpffs)" in line
    assert "mount -t bpf bpf DIR" in line and "Traceback" not in got.stderr
    assert not (tmp_path / "progs").exists()


def test_load_with_dotdot_is_a_clear_error(pin_dir):
    target = f"{pin_dir}/missing/../progs"
    got = pybpf_cli("load", obj("minimal"), target)
    assert got.returncode != 0
    (line,) = got.stderr.strip().splitlines()
    assert "'..' is not allowed" in line and target in line and "File exists" not in line
    assert list(pin_dir.iterdir()) == []


def test_pinned_program_where_a_map_is_pinned_by_name(pin_dir):
    """The pin-by-name path holds a program: refused naming the path, not read as a map."""
    with pybpf.load(obj("minimal")) as coll:
        next(iter(coll.programs.values())).pin(pin_dir / "pybpf_shared")
    with pytest.raises(LoadError) as info:
        pybpf.load(obj("loader_pinned"), pin_root=pin_dir)
    text = str(info.value)
    assert str(pin_dir / "pybpf_shared") in text and "holds a BPF program, not a BPF map" in text
    assert "key_size" not in text
    os.unlink(pin_dir / "pybpf_shared")


def test_main_job_on_a_fresh_host_mounts_tracefs():
    tag, events, err, status = exec_events(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         fresh_host_script(f"exec {sys.executable} -m pybpf run trace_exec -o json --timeout 6")],
        cwd=ROOT)
    assert status == 0, err
    assert "pybpf: mounted tracefs at /sys/kernel/tracing" in err
    assert events and events[0]["args"] == [ECHO, tag], err
    assert mounts.fs_magic("/sys/kernel/tracing") == mounts.TRACEFS_MAGIC  # host untouched


def test_tp_btf_gadget_needs_no_tracefs():
    proc = fresh_host(f"{sys.executable} -m pybpf run trace_oomkill -o json --timeout 2; "
                      "echo rc=$?; grep -c ' tracefs ' /proc/self/mounts")
    out, err = proc.communicate(timeout=60)
    assert "tracefs" not in err, err
    assert out.strip().splitlines()[-2:] == ["rc=0", "0"], (out, err)  # ran, no tracefs


def test_load_on_a_fresh_host_mounts_bpffs():
    pins = f"/sys/fs/bpf/pybpf_fresh_{uuid.uuid4().hex[:8]}"
    proc = fresh_host(f"{sys.executable} -m pybpf load {obj('minimal')} {pins} "
                      f"&& ls {pins} && grep -c ' /sys/fs/bpf bpf ' /proc/self/mounts")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "pybpf: mounted bpf at /sys/fs/bpf" in err
    assert out.split()[-1] == "1" and len(out.split()) >= 2
    assert not os.path.exists(pins)  # it was pinned in the namespace's own bpffs only


def test_pin_by_name_on_a_fresh_host_mounts_bpffs():
    """The library, not only `pybpf load`: a LIBBPF_PIN_BY_NAME map under /sys/fs/bpf."""
    code = ("import pybpf, os, sys; c = pybpf.load(sys.argv[1]); "
            "print(sorted(os.listdir('/sys/fs/bpf'))); c.close()")
    proc = fresh_host(f"{sys.executable} -c \"{code}\" {obj('loader_pinned')}")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "pybpf: mounted bpf at /sys/fs/bpf" in err and "pybpf_shared" in out
