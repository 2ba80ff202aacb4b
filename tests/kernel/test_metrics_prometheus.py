"""`pybpf serve` scraped by a real Prometheus (Debian's 2.42) on loopback.

A known workload runs while Prometheus scrapes every second; the test asks
Prometheus's HTTP API for the series and values it stored: execs of a
unique command in a stand-in container counted by container, comm and
outcome; bytes written to a unique file accumulated across the top
gadget's drained intervals; block I/O latency as a histogram. promtool
checks the exposition itself.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import pytest
from metrics_support import Prometheus, Serve, promtool_check
from test_gadget_trace_support import StandIn, require

from pybpf_gadgets import profile_blockio, top_file, trace_exec

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

FIRST, SECOND = 5, 20  # execs in the two bursts
CHUNK, WRITES = 4096, 3


@pytest.fixture
def stack(tmp_path):
    for g in (trace_exec.GADGET, top_file.GADGET, profile_blockio.GADGET):
        require(g)
    container = StandIn("pybpfm")
    served = prom = None
    try:
        served = Serve(["trace_exec:runtime.containerName,proc.comm,error", "top_file:file",
                        "profile_blockio", "--interval", "0.5"])
        prom = Prometheus(tmp_path, f"127.0.0.1:{served.port}")
        prom.wait_value('up{job="pybpf"}', 1)
        yield container, served, prom
    finally:
        if prom is not None:
            prom.close()
        if served is not None:
            assert served.stop() == 0, served.stderr
        container.close()


def test_prometheus_stores_what_the_gadgets_saw(stack, tmp_path):
    container, served, prom = stack
    tag = f"pbm{uuid.uuid4().hex[:8]}"  # the comm of the exec'd program
    program = tmp_path / tag
    shutil.copy("/bin/true", program)

    def burst(n):
        container.run(["sh", "-c", f"i=0; while [ $i -lt {n} ]; do {program}; i=$((i+1)); done"],
                      check=True)

    series = f'pybpf_trace_exec_events_total{{comm="{tag}"}}'
    burst(FIRST)  # creates the series
    prom.wait_value(series, FIRST)
    burst(SECOND)
    result = prom.wait_value(series, FIRST + SECOND)
    # error="" (the execs succeeded): Prometheus stores an empty label as no label
    assert [r["metric"] for r in result] == [{
        "__name__": "pybpf_trace_exec_events_total", "job": "pybpf",
        "instance": f"127.0.0.1:{served.port}", "container": container.name, "comm": tag}]
    # what Prometheus saw of the second burst, exactly: no reset, +SECOND
    prom.wait_value(f"max_over_time({series}[2m]) - min_over_time({series}[2m])", SECOND)
    assert float(prom.query(f"resets({series}[2m])")[0]["value"][1]) == 0
    assert prom.query('pybpf_gadget_lost_events_total{gadget="trace_exec"}')

    # top_file's map is emptied every 0.5 s: the writes land in different
    # intervals and the exported counter adds them up
    name = f"{tag}.dat"
    fd = os.open(tmp_path / name, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(WRITES):
            os.write(fd, b"x" * CHUNK)
            time.sleep(1.2)
    finally:
        os.close(fd)
    written = f'pybpf_top_file_write_bytes_total{{file="{name}"}}'
    prom.wait_value(written, CHUNK * WRITES)
    prom.wait_value(f'pybpf_top_file_writes_total{{file="{name}"}}', WRITES)
    assert float(prom.query(f"resets({written}[2m])")[0]["value"][1]) == 0
    # the gauge of the last interval's rows exists for the label set while it is active
    assert prom.query("pybpf_top_file_active_files") is not None

    # block I/O: a histogram Prometheus can take quantiles of
    subprocess.run(["dd", "if=/dev/zero", f"of={tmp_path / 'direct.dat'}", "bs=64k",
                    "count=16", "oflag=direct"], check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        count = prom.query("pybpf_profile_blockio_latency_seconds_count")
        if count and float(count[0]["value"][1]) >= 16:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"no block I/O counted: {count}")
    inf = prom.query('pybpf_profile_blockio_latency_seconds_bucket{le="+Inf"}')
    assert float(inf[0]["value"][1]) == float(count[0]["value"][1])
    q = prom.query("histogram_quantile(0.5, pybpf_profile_blockio_latency_seconds_bucket)")
    assert 0 < float(q[0]["value"][1]) < 10

    assert promtool_check(served.metrics()) == ""
