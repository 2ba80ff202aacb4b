"""Gadget data as Prometheus metrics.

The pure part: :mod:`.registry` (counters, gauges and histograms with label
sets and a per-metric cardinality cap), :mod:`.exposition` (the text format
0.0.4), :mod:`.log2` (log2 slots as Prometheus buckets) and
:mod:`.monotonic` (cumulative kernel readings as increments). The serving
part: :mod:`.server` (``/metrics`` and ``/healthz`` over the standard
library's HTTP server), :mod:`.config` (what to serve, checked before
loading), :mod:`.families` (what each gadget exports) and :mod:`.feeds`
(the reader threads). The command is ``pybpf serve`` (gadgets/cli/serve.py).
"""
