"""Tests with real container runtimes (podman, containerd, docker) on this
machine's kernel: every test here is also a `kernel` test (root, BPF).

Session fixtures build the busybox image locally (no registry) and start
the containerd and docker daemons when none answers, stopping at the end
only the daemons they started. Containers get unique names and are removed
by the test that made them (runtimes_support.py).
"""
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "kernel"))   # collect(), CLIRun: the gadget test helpers

import runtimes_support as rs  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "containers: needs podman, containerd or docker")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/containers/" in str(item.fspath):
            item.add_marker(pytest.mark.kernel)
            item.add_marker(pytest.mark.containers)


@pytest.fixture(scope="session")
def bb_image():
    """localhost/pybpf-bb:1 in podman's store (and the docker-archive of it)."""
    return rs.busybox_image()


@pytest.fixture(scope="session")
def podman(bb_image):
    rs.require("podman")
    return rs.Podman(bb_image)


@pytest.fixture(scope="session")
def containerd(bb_image):
    rs.require("containerd", "ctr")
    daemon = rs.Containerd(bb_image)
    try:
        yield daemon
    finally:
        daemon.close()


@pytest.fixture(scope="session")
def docker(bb_image, containerd):
    """dockerd (it may use the containerd above: stopped before it)."""
    rs.require("dockerd", "docker")
    daemon = rs.Docker(bb_image)
    try:
        yield daemon
    finally:
        daemon.close()
