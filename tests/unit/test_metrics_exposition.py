"""Text format 0.0.4: escaping, HELP/TYPE lines, histograms from log2 slots,
and promtool's verdict on what we render."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from pybpf_gadgets.metrics import log2
from pybpf_gadgets.metrics.exposition import escape_label_value, number, render
from pybpf_gadgets.metrics.registry import Registry


def test_label_values_and_help_escape():
    r = Registry()
    c = r.counter("pybpf_e_total", 'a "help" \\ with\nnewline', ("path",))
    c.inc(('C:\\dir\n"x"',))
    text = render(r.snapshot())
    assert '# HELP pybpf_e_total a "help" \\\\ with\\nnewline\n' in text
    assert 'pybpf_e_total{path="C:\\\\dir\\n\\"x\\""} 1\n' in text
    assert escape_label_value("plain") == "plain"


def test_numbers():
    assert [number(v) for v in (3, 2.0, 0.5, 2e-06, float("inf"), float("-inf"))] == \
        ["3", "2", "0.5", "2e-06", "+Inf", "-Inf"]
    assert number(float("nan")) == "NaN"


def test_type_lines_and_unlabelled_series():
    r = Registry()
    r.gauge("pybpf_g", "g").set((), 1.5)
    text = render(r.snapshot())
    assert "# TYPE pybpf_g gauge\npybpf_g 1.5\n" in text
    assert "# TYPE pybpf_metrics_dropped_series_total counter\n" in text


def test_log2_bounds_are_the_slots_exclusive_tops_in_seconds():
    # slot i holds whole units 2**i .. 2**(i+1)-1: durations below 2**(i+1)
    assert log2.bounds(4, 1e-6) == (2e-6, 4e-6, 8e-6)
    assert log2.bounds(27, 1e-3)[-1] == (1 << 26) * 1e-3


def test_histogram_lines_are_cumulative_with_inf_sum_count():
    r = Registry()
    h = r.histogram("pybpf_lat_seconds", "l", ("disk",), log2.bounds(4, 1e-6))
    h.add(("vda",), [2, 0, 3, 1], 40e-6)
    lines = [line for line in render(r.snapshot()).splitlines()
             if line.startswith("pybpf_lat_seconds")]
    assert lines == [
        'pybpf_lat_seconds_bucket{disk="vda",le="2e-06"} 2',
        'pybpf_lat_seconds_bucket{disk="vda",le="4e-06"} 2',
        'pybpf_lat_seconds_bucket{disk="vda",le="8e-06"} 5',
        'pybpf_lat_seconds_bucket{disk="vda",le="+Inf"} 6',
        'pybpf_lat_seconds_sum{disk="vda"} 4e-05',
        'pybpf_lat_seconds_count{disk="vda"} 6',
    ]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) missing")
def test_promtool_accepts_every_kind():
    r = Registry(max_series=3)
    c = r.counter("pybpf_trace_exec_events_total", "execs", ("container", "error"))
    for i in range(5):
        c.inc((f'c"{i}\\', "ENOENT\n" if i else ""))
    r.gauge("pybpf_top_tcp_connections", "conns", ("comm",)).replace({("curl",): 2})
    h = r.histogram("pybpf_profile_blockio_latency_seconds", "lat", ("disk",),
                    log2.bounds(27, 1e-6))
    h.add(("vda",), [0, 1, 5] + [0] * 23 + [2], 0.004)
    h.add(("",), [1] * 27, 1.0)
    text = render(r.snapshot())
    done = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                          capture_output=True, timeout=30)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert not (done.stdout + done.stderr).strip()  # no lint warnings either


def test_a_renderer_reused_across_scrapes_shows_new_values_and_new_series():
    from pybpf_gadgets.metrics.exposition import Renderer
    r = Registry()
    c = r.counter("pybpf_r_total", "r", ("comm",))
    g = r.gauge("pybpf_rows", "rows", ("comm",))
    c.inc(('a"b',), 1)
    g.replace({("x",): 1})
    renderer = Renderer()
    first = renderer.render(r.snapshot())
    assert first == render(r.snapshot())
    c.inc(('a"b',), 2)
    c.inc(("new",), 5)
    g.replace({("y",): 2})
    second = renderer.render(r.snapshot())
    assert second == render(r.snapshot())
    assert 'pybpf_r_total{comm="a\\"b"} 3\n' in second and 'pybpf_r_total{comm="new"} 5\n' in second
    assert 'pybpf_rows{comm="y"} 2\n' in second and 'comm="x"' not in second
