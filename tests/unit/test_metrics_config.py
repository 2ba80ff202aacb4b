"""The serve plan: defaults, file and command line merged, checks before load."""
from __future__ import annotations

import pytest

from pybpf_gadgets.common.errors import GadgetError
from pybpf_gadgets.metrics import config
from pybpf_gadgets.metrics.families import default_labels, label_name


def test_defaults_and_label_names():
    p = config.plan({}, "cli", ["trace_exec", "top_tcp", "profile_tcprtt"])
    assert (p.host, p.port, p.max_series) == ("127.0.0.1", 9431, 10000)
    got = {g.gadget.name: (g.labels, g.interval) for g in p.gadgets}
    k8s = ("k8s.namespace", "k8s.podName")
    assert got == {"trace_exec": (k8s + ("runtime.containerName", "error"), 5.0),
                   "top_tcp": (k8s + ("runtime.containerName", "proc.comm"), 5.0),
                   "profile_tcprtt": ((), 5.0)}
    assert [label_name(f) for f in ("runtime.containerName", "proc.comm", "k8s.podName", "dst.port")] \
        == ["container", "comm", "pod", "dst_port"]


def test_command_line_wins_over_the_file():
    doc = {"listen": "0.0.0.0:9100", "interval": 10, "max_series": 50,
           "gadgets": {"top_file": {"labels": ["proc.comm"], "interval": 2,
                                    "params": {"all_files": True}, "comm": "nginx"},
                       "trace_dns": {"container": "web"}}}
    p = config.plan(doc, "f.json", ["top_file:file,type", "trace_open"], listen=":9200",
                    container=["db"])
    assert (p.host, p.port, p.max_series) == ("0.0.0.0", 9200, 50)
    plans = {g.gadget.name: g for g in p.gadgets}
    assert plans["top_file"].labels == ("file", "type") and plans["top_file"].interval == 2
    assert plans["top_file"].options == {"params": {"all_files": True}, "comm": "nginx",
                                         "container": ["db"]}
    assert plans["trace_dns"].options["container"] == "web"  # its own wins over -c
    assert plans["trace_dns"].labels == ("k8s.namespace", "k8s.podName", "runtime.containerName",
                                         "qr", "rcode")
    assert plans["trace_open"].interval == 10


@pytest.mark.parametrize("doc,args,message", [
    ({}, ["trace_exek"], "unknown gadget 'trace_exek'"),
    ({}, ["snapshot_process"], "has no metrics form"),
    ({}, ["profile_blockio:disk"], "labelled by its grouping parameter (disk)"),
    ({}, ["top_tcp:src,dst.port"], "unknown field 'dst.port'"),
    ({}, ["trace_tcp:dst.port,dst.port"], "give one label name twice"),
    ({"gadgets": {"top_file": {"interval": 0}}}, [], "interval 0"),
    ({"gadgets": {"top_file": {"host": "yes"}}}, [], "host 'yes': expected bool"),
    ({"gadgets": {"top_file": {"labels": "comm"}}}, [], "expected a list of field names"),
    ({"gadgets": {"top_file": {"params": []}}}, [], "params: expected an object"),
    ({"gadgets": ["top_file"]}, [], "gadgets: expected an object"),
    ({"max_series": 0}, ["trace_exec"], "max_series 0"),
    ({"interval": "5"}, ["trace_exec"], "interval '5'"),
    ({}, [], "no gadget to serve"),
])
def test_refused(doc, args, message):
    with pytest.raises(GadgetError) as err:
        config.plan(doc, "f.json", args)
    assert message in str(err.value)


def test_read_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"gadgets": {}}')
    assert config.read_file(str(path)) == {"gadgets": {}}
    path.write_text("[1]")
    with pytest.raises(GadgetError, match="expected a JSON object"):
        config.read_file(str(path))
    with pytest.raises(GadgetError, match="No such file"):
        config.read_file(str(tmp_path / "missing.json"))


def test_every_trace_gadget_has_a_default_outcome_field_it_really_has():
    from pybpf_gadgets import registry
    for g in registry.all_gadgets():
        if g.category in ("trace", "top"):
            for path in default_labels(g):
                g.field(path)


def test_registering_serve_imports_no_http_server():
    """Every `pybpf` command builds the serve subparser: it must stay cheap."""
    import subprocess
    import sys
    code = ("import argparse, sys; from pybpf_gadgets.cli import serve; "
            "serve.register(argparse.ArgumentParser().add_subparsers()); "
            "print(sorted(m for m in sys.modules if m.startswith(('http', 'ssl', 'socketserver')) "
            "or m.startswith('pybpf_gadgets.') and m not in ('pybpf_gadgets.cli', "
            "'pybpf_gadgets.cli.serve', 'pybpf_gadgets.metrics', 'pybpf_gadgets.metrics.defaults')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
