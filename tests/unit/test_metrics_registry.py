"""Metric families: label checks, the series cap and its overflow, increments."""
from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pybpf_gadgets.metrics.monotonic import Increments
from pybpf_gadgets.metrics.registry import DROPPED, OVERFLOW, Registry


def _series(registry, name):
    return next(f for f in registry.snapshot() if f.name == name).series


def test_counter_adds_and_refuses_going_down():
    r = Registry()
    c = r.counter("pybpf_t_events_total", "events", ("comm",))
    c.inc(("sh",))
    c.inc_many({("sh",): 2, ("ls",): 5})
    assert _series(r, "pybpf_t_events_total") == {("sh",): 3, ("ls",): 5}
    for bad in (-1, float("nan")):
        with pytest.raises(ValueError, match="negative"):
            c.inc(("sh",), bad)
    with pytest.raises(ValueError, match="1 label values for 0"):
        r.counter("pybpf_u_total", "u").inc(("x",))


@pytest.mark.parametrize("name,labels,why", [
    ("pybpf-bad", (), "not a Prometheus name"), ("pybpf_ok", ("le",), "not allowed"),
    ("pybpf_ok", ("__x",), "not allowed"), ("pybpf_ok", ("a-b",), "not allowed"),
    ("pybpf_ok", ("a", "a"), "repeat"),
])
def test_bad_names(name, labels, why):
    with pytest.raises(ValueError, match=why):
        Registry().counter(name, "h", labels)


def test_registered_twice():
    r = Registry()
    r.gauge("pybpf_g", "g")
    with pytest.raises(ValueError, match="twice"):
        r.counter("pybpf_g", "g")


def test_cap_folds_new_series_into_overflow_and_counts_the_drops():
    r = Registry(max_series=2)
    c = r.counter("pybpf_c_total", "c", ("comm", "pid"))
    c.inc_many({("a", "1"): 1, ("b", "2"): 1})
    c.inc_many({("c", "3"): 4, ("d", "4"): 5, ("a", "1"): 1})  # a is known: still counted
    series = _series(r, "pybpf_c_total")
    assert series == {("a", "1"): 2, ("b", "2"): 1, (OVERFLOW, OVERFLOW): 9}
    assert sum(series.values()) == 12  # nothing lost from the total
    assert _series(r, DROPPED) == {("pybpf_c_total",): 2}
    # the cap is per metric: another family has room of its own
    r.counter("pybpf_d_total", "d", ("x",)).inc(("y",))
    assert _series(r, "pybpf_d_total") == {("y",): 1}


def test_gauge_replace_forgets_absent_label_sets():
    r = Registry(max_series=1)
    g = r.gauge("pybpf_conns", "c", ("comm",))
    g.replace({("a",): 3, ("b",): 4})
    assert _series(r, "pybpf_conns") == {("a",): 3, (OVERFLOW,): 4}
    g.replace({("b",): 1})
    assert _series(r, "pybpf_conns") == {("b",): 1}


def test_histogram_accumulates_buckets_and_sum():
    r = Registry()
    h = r.histogram("pybpf_lat_seconds", "l", ("disk",), (1.0, 2.0))
    h.add(("vda",), [1, 0, 2], 7.5)
    h.add(("vda",), [0, 1, 1], 4.0)
    assert _series(r, "pybpf_lat_seconds") == {("vda",): ((1, 1, 3), 11.5)}
    with pytest.raises(ValueError, match="2 bucket counts for 3"):
        h.add(("vda",), [1, 1], 1.0)
    with pytest.raises(ValueError, match="negative"):
        h.add(("vda",), [1, -1, 0], 1.0)
    with pytest.raises(ValueError, match="increasing"):
        r.histogram("pybpf_bad_seconds", "b", (), (2.0, 1.0))


def test_snapshot_is_a_copy():
    r = Registry()
    h = r.histogram("pybpf_h_seconds", "h", (), (1.0,))
    h.add((), [1, 1], 1.0)
    snap = r.snapshot()
    h.add((), [1, 1], 1.0)
    assert next(f for f in snap if f.name == "pybpf_h_seconds").series == {(): ((1, 1), 1.0)}


def test_updates_from_threads_are_not_lost():
    r = Registry()
    c = r.counter("pybpf_n_total", "n", ("t",))

    def work(i):
        for _ in range(2000):
            c.inc((str(i % 2),))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _series(r, "pybpf_n_total") == {("0",): 4000, ("1",): 4000}


def test_increments_of_running_totals():
    inc = Increments()
    assert inc.step("vda", [1, 0, 10]) == [1, 0, 10]
    assert inc.step("vda", [3, 1, 15]) == [2, 1, 5]
    assert inc.step("vda", [3, 1, 15]) == [0, 0, 0]
    # the map was emptied and counted again from zero: a reset
    assert inc.step("vda", [1, 0, 2]) == [1, 0, 2]
    assert inc.step("sda", [4]) == [4]


@given(st.lists(st.lists(st.integers(0, 50), min_size=3, max_size=3), max_size=30))
def test_exported_counter_never_goes_down_whatever_the_kernel_map_does(readings):
    """Readings of a map that may be drained at any point (values restart
    lower): the counter built from the increments only goes up, and matches
    the total when the map is never drained."""
    r = Registry()
    c = r.counter("pybpf_x_total", "x")
    inc = Increments()
    last = 0.0
    for reading in readings:
        c.inc((), sum(inc.step("k", reading)))
        now = c.value(())
        assert now >= last
        last = now
    monotone = all(all(b >= a for a, b in zip(p, n)) for p, n in zip(readings, readings[1:]))
    if readings and monotone:
        assert last == sum(readings[-1])
