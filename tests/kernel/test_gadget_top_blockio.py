"""top_blockio and profile_blockio on the real kernel: direct I/O writes of
known size to a file on the root disk are counted for the writing process
and land in the latency histogram."""
from __future__ import annotations

import mmap
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf_gadgets import profile_blockio, top_blockio
from pybpf_gadgets.common.session import open_session

ROOT = Path(__file__).resolve().parents[2]
BLOCK = 64 * 1024
COUNT = 16


def _disk_dir(tmp_path: Path) -> Path:
    """A directory on a real block device (tmp_path, or the checkout's disk)."""
    for where in (tmp_path, ROOT):
        dev = os.stat(where).st_dev
        if os.path.exists(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}"):
            return where
    pytest.skip("no directory on a block device here")


def _direct_writes(path: Path, count: int = COUNT) -> None:
    """``count`` O_DIRECT writes of BLOCK bytes to a preallocated file, synced."""
    buf = mmap.mmap(-1, BLOCK)  # page aligned, as O_DIRECT wants
    buf.write(b"d" * BLOCK)
    fd = os.open(path, os.O_WRONLY | os.O_DIRECT)
    try:
        for i in range(count):
            assert os.pwrite(fd, buf, i * BLOCK) == BLOCK
    finally:
        os.close(fd)
        buf.close()


@pytest.fixture
def target(tmp_path, unique_name):
    path = _disk_dir(tmp_path) / unique_name(".pybpf_blockio_")
    with open(path, "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, BLOCK * COUNT)
        fh.write(b"\0" * BLOCK * COUNT)
        fh.flush()
        os.fsync(fh.fileno())
    yield path
    path.unlink()


def test_direct_writes_counted_for_the_writer(target):
    with top_blockio.run(pid=os.getpid()) as run:
        top_blockio.collect(run)
        _direct_writes(target)
        rows = top_blockio.collect(run)
    dev = os.stat(target).st_dev
    mine = [r for r in rows if r["proc"]["pid"] == os.getpid()]
    assert mine and all(r["proc"]["pid"] == os.getpid() for r in rows)
    assert sum(r["write_bytes"] for r in mine) == BLOCK * COUNT
    assert sum(r["writes"] for r in mine) >= 1
    assert mine[0]["time_us"] > 0 and mine[0]["avg_us"] > 0
    # the disk holding the file (or its whole disk, for a partition)
    disk = mine[0]["disk"]
    assert Path(f"/sys/block/{disk}").exists()
    assert os.major(dev) == mine[0]["major"]


def test_latency_histogram_per_disk(target):
    with profile_blockio.run(per_disk=True, pid=os.getpid()) as run:
        _direct_writes(target)
        rows = profile_blockio.collect(run)
    assert rows and rows[0]["disk"]
    h = rows[0]["histogram"]
    assert h["unit"] == "usecs" and rows[0]["count"] >= 1 and h["total"] == rows[0]["count"]
    assert max(b["high"] for b in h["buckets"] if b["count"]) < 10_000_000  # under 10 s


def test_profile_command_line_chart(target):
    proc = subprocess.Popen([sys.executable, "-m", "pybpf", "run", "profile_blockio", "--timeout", "4"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline().startswith("Tracing")  # attached
    _direct_writes(target)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert "usecs" in lines[0] and "distribution" in lines[0]
    assert any(line.startswith("average = ") for line in lines)


def test_without_block_io_start_the_issuer_owns_requests(target):
    # what older kernels (no block:block_io_start) run: attribution at issue
    # (the issuer may be a kworker dispatching the queue, so count the whole disk)
    older = top_blockio.GADGET.replace(prepare=lambda _, spec: top_blockio.attribute_at_issue(spec))
    run = open_session(older)
    dev = os.stat(target).st_dev
    with run:
        assert "io_start" not in run.collection.programs
        top_blockio.collect(run)
        _direct_writes(target)
        rows = top_blockio.collect(run)
    assert sum(r["write_bytes"] for r in rows if r["major"] == os.major(dev)) >= BLOCK * COUNT


def test_profile_without_block_io_start(target):
    older = profile_blockio.GADGET.replace(prepare=lambda _, spec: profile_blockio.filter_at_issue(spec))
    run = open_session(older)
    with run:
        _direct_writes(target)
        rows = profile_blockio.collect(run)
    assert sum(r["count"] for r in rows) >= 1
