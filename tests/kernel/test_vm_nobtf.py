"""A kernel without BTF: pybpf must say so in one clear line, not fail later.

Debian's kernels from 5.10 on all ship /sys/kernel/btf/vmlinux, so the
"kernel without BTF" case is made here: a child process runs in its own mount
namespace with an empty tmpfs over /sys/kernel/btf, exactly what a kernel
built without CONFIG_DEBUG_INFO_BTF looks like to user space. Works on the
host and in vmtests guests alike.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
VMLINUX = Path("/sys/kernel/btf/vmlinux")

CHILD = r"""
import json, sys
import pybpf
import pybpf.core
from pybpf.errors import BPFError
out = [__import__("os").path.exists("/sys/kernel/btf/vmlinux")]
for name, btf in json.loads(sys.argv[1]):
    try:
        target = pybpf.core.kernel_btf(btf) if btf else None
        with pybpf.load(f"bpf/objects/{name}.bpf.o", btf=target) as coll:
            out.append(["loaded", sorted(coll.programs)])
    except BPFError as exc:
        out.append(["error", type(exc).__name__, str(exc)])
print(json.dumps(out))
"""


def load_without_kernel_btf(jobs):
    """Run pybpf.load for each (object, btf) in a namespace whose /sys/kernel/btf is empty."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) missing (util-linux)")
    script = ('mount -t tmpfs vmtests-nobtf /sys/kernel/btf && exec "$0" -c "$1" "$2"')
    proc = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script,
         sys.executable, CHILD, json.dumps(jobs)],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    btf_visible, *results = json.loads(proc.stdout)
    assert btf_visible is False
    return results


def test_missing_kernel_btf(tmp_path):
    if not VMLINUX.exists():
        pytest.skip(f"{VMLINUX} missing on this kernel already")
    saved = tmp_path / "vmlinux.btf"
    shutil.copyfile(VMLINUX, saved)
    no_btf, plain, given_btf = load_without_kernel_btf(
        [["core_read", None], ["minimal", None], ["core_read", str(saved)]])
    # CO-RE needs target BTF: the error names the file and says what to do.
    kind, cls, message = no_btf
    assert (kind, cls) == ("error", "CoreRelocationError")
    first = message.splitlines()[0]
    assert first.startswith(f"{VMLINUX}: ")
    assert "no BTF" in first and "btf=" in first
    # An object without CO-RE relocations does not need kernel BTF at all.
    assert plain[0] == "loaded", plain
    # The remedy the message names works: the same object given that BTF.
    assert given_btf[0] == "loaded", given_btf
