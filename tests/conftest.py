"""Shared test setup.

Tests under tests/unit are pure (no root, no kernel). Tests under
tests/kernel load real programs into this machine's kernel: they need root
and mount bpffs and tracefs if the machine has not.
"""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OBJECTS = ROOT / "bpf" / "objects"

_MOUNTS = (("bpf", "/sys/fs/bpf"), ("tracefs", "/sys/kernel/tracing"))


def _ensure_mounts() -> None:
    with open("/proc/self/mounts") as fh:
        mounted = {line.split()[1] for line in fh}
    for fstype, where in _MOUNTS:
        if where not in mounted and os.path.isdir(where):
            subprocess.run(["mount", "-t", fstype, fstype, where], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pytest_configure(config: pytest.Config) -> None:
    if os.geteuid() == 0:
        _ensure_mounts()


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root for the kernel")
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def obj_path():
    """Path of a compiled object in bpf/objects by its base name (this
    machine's build where the object is built per architecture)."""
    from pybpf import arch_object

    def find(name: str) -> Path:
        path = arch_object(OBJECTS / f"{name}.bpf.o")
        assert path.exists(), f"{path} missing: run make -C bpf"
        return path
    return find


@pytest.fixture
def unique_name():
    """A short name unique to this test run (BPF object names are 15 chars)."""
    def make(prefix: str = "t") -> str:
        return f"{prefix}{uuid.uuid4().hex[:8]}"
    return make


@pytest.fixture
def pin_dir(unique_name):
    """A fresh directory on bpffs, removed with everything this test pinned."""
    path = Path("/sys/fs/bpf") / unique_name("pybpf_test_")
    path.mkdir()
    yield path
    for child in sorted(path.rglob("*"), reverse=True):
        if child.is_dir():
            child.rmdir()
        else:
            child.unlink()
    path.rmdir()
