"""profile_cpu on the real kernel: a busy loop in a known function of a test
binary shows up in the symbolised user stacks; folded output for flame graphs."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_gadget_snapshot_process import make_standin  # noqa: F401 (fixture)

from pybpf_gadgets import profile_cpu

ROOT = Path(__file__).resolve().parents[2]
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang-19")

BUSY_C = r"""
#include <stdlib.h>
#include <time.h>
volatile unsigned long sink;

__attribute__((noinline)) void pybpf_busy_leaf(void)
{
	for (unsigned long i = 0; i < 1000000; i++)
		sink += i * i;
}

__attribute__((noinline)) void pybpf_busy_caller(double seconds)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		pybpf_busy_leaf();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
}

int main(int argc, char **argv)
{
	pybpf_busy_caller(argc > 1 ? atof(argv[1]) : 20.0);
	return 0;
}
"""


@pytest.fixture(scope="module")
def busy_binary(tmp_path_factory):
    if CC is None:
        pytest.skip("no C compiler to build the test binary")
    src = tmp_path_factory.mktemp("busy") / "busy.c"
    src.write_text(BUSY_C)
    exe = src.with_suffix("")
    # -O0 keeps every frame pointer (gcc drops the leaf's at -O1 whatever the flags)
    subprocess.run([CC, "-O0", "-g", "-fno-omit-frame-pointer", "-o", str(exe), str(src)],
                   check=True)
    return exe


def test_frames_of_a_process_that_exited_are_symbolised(busy_binary):
    """Its maps were read when it was first sampled, its root kept open: its
    frames resolve at the end though it is gone (no tick ran in between)."""
    with profile_cpu.run(frequency=199, comm=busy_binary.name) as run:
        child = subprocess.Popen([str(busy_binary), "0.6"])
        child.wait()
        time.sleep(0.2)
        assert not Path(f"/proc/{child.pid}").exists()
        stacks = [s for s in profile_cpu.collect(run) if s["proc"]["pid"] == child.pid]
    assert stacks, "the short-lived process was not sampled"
    leaves = {s["user_stack"][0] for s in stacks if s["user_stack"]}
    assert "pybpf_busy_leaf" in leaves, leaves


def test_busy_function_in_symbolised_user_stacks(busy_binary):
    busy = subprocess.Popen([str(busy_binary)])
    try:
        with profile_cpu.run(frequency=99, pid=busy.pid) as run:
            # on a loaded machine the loop gets less CPU: sample until 50 samples
            deadline = time.monotonic() + 20
            stacks = []
            while time.monotonic() < deadline and sum(s["count"] for s in stacks) < 50:
                time.sleep(0.5)
                profile_cpu.profiler(run).remember_processes()
                stacks = profile_cpu.collect(run)
    finally:
        busy.kill()
        busy.wait()
    assert stacks and all(s["proc"]["pid"] == busy.pid for s in stacks)
    total = sum(s["count"] for s in stacks)
    assert total >= 50
    in_leaf = sum(s["count"] for s in stacks if s["user_stack"][:1] == ["pybpf_busy_leaf"])
    assert in_leaf >= total // 2
    # frame pointers give the callers too, outermost last
    full = [s for s in stacks if s["user_stack"][:2] == ["pybpf_busy_leaf", "pybpf_busy_caller"]]
    assert full and "main" in full[0]["user_stack"]
    assert stacks[0]["proc"]["comm"] == busy_binary.name


def test_kernel_stacks_symbolised():
    # a process living in the kernel: many small reads of /dev/zero
    code = "import os\nfd = os.open('/dev/zero', os.O_RDONLY)\nwhile True: os.read(fd, 1 << 16)"
    reader = subprocess.Popen([sys.executable, "-c", code])
    try:
        with profile_cpu.run(frequency=99, pid=reader.pid, kernel_only=True) as run:
            time.sleep(1.5)
            stacks = profile_cpu.Profiler(run).stacks()
    finally:
        reader.kill()
        reader.wait()
    frames = [f for s in stacks for f in s["kernel_stack"]]
    assert frames and all(not s["user_stack"] for s in stacks)
    assert any("read" in f for f in frames)  # ksys_read, vfs_read, read_zero...
    assert not any(f.startswith("0x") for f in frames)


def test_command_line_folded(busy_binary):
    busy = subprocess.Popen([str(busy_binary)])
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pybpf", "run", "profile_cpu", "-o", "folded", "--timeout", "2",
             "--pid", str(busy.pid), "--frequency", "99"],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
    finally:
        busy.kill()
        busy.wait()
    lines = out.splitlines()
    assert lines
    stack, count = lines[0].rsplit(" ", 1)
    assert int(count) > 0 and stack.startswith(busy_binary.name + ";")
    assert any("pybpf_busy_caller;pybpf_busy_leaf" in line for line in lines)


def test_container_filter_and_user_symbols_inside_it(busy_binary, make_standin):
    ctr = make_standin()
    pid = ctr.start([str(busy_binary)])
    with profile_cpu.run(frequency=99, container=ctr.name) as run:
        deadline = time.monotonic() + 20
        stacks = []
        while time.monotonic() < deadline and sum(s["count"] for s in stacks) < 30:
            time.sleep(0.5)
            profile_cpu.profiler(run).remember_processes()
            stacks = profile_cpu.collect(run)
    assert stacks and {s["proc"]["pid"] for s in stacks} == {pid}
    assert {s["runtime"]["containerName"] for s in stacks} == {ctr.name}
    # the binary is read through /proc/PID/root: the container's view of the file system
    assert any(s["user_stack"][:1] == ["pybpf_busy_leaf"] for s in stacks)
