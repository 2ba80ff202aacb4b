"""The HTTP endpoint on loopback: routes, bind errors, slow clients, close."""
from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

import pytest

from pybpf_gadgets.common.errors import GadgetError
from pybpf_gadgets.metrics.registry import Registry
from pybpf_gadgets.metrics.server import MetricsServer, parse_listen


def _get(server, path):
    host, port = server.address
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read().decode()


@pytest.fixture
def served():
    registry = Registry()
    counter = registry.counter("pybpf_x_total", "x", ("comm",))
    health = {"ok": True}
    server = MetricsServer(registry, "127.0.0.1", 0,
                           health=lambda: (health["ok"], "ok" if health["ok"] else "top_file: died"))
    with server:
        yield server, counter, health


def test_metrics_and_healthz(served):
    server, counter, health = served
    counter.inc(("sh",), 3)
    status, ctype, body = _get(server, "/metrics")
    assert status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8"
    assert 'pybpf_x_total{comm="sh"} 3\n' in body
    assert _get(server, "/healthz")[::2] == (200, "ok\n")
    health["ok"] = False
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(server, "/healthz")
    assert err.value.code == 503 and err.value.read() == b"top_file: died\n"
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(server, "/nothing")
    assert err.value.code == 404


def test_a_stalled_client_blocks_neither_updates_scrapes_nor_close(served):
    server, counter, _ = served
    stalled = socket.create_connection(server.address)
    stalled.sendall(b"GET /metrics HTTP/1.1\r\n")  # and never finishes the request
    try:
        t0 = time.monotonic()
        for _ in range(1000):
            counter.inc(("sh",))
        assert 'pybpf_x_total{comm="sh"} 1000' in _get(server, "/metrics")[2]
        server.close()
        assert time.monotonic() - t0 < 3
    finally:
        stalled.close()


def test_port_in_use_is_one_line_naming_the_address():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(GadgetError, match=rf"^--listen 127.0.0.1:{port}: cannot listen: "
                                              "the port is in use$"):
            MetricsServer(Registry(), "127.0.0.1", port)


def test_address_not_on_this_host():
    with pytest.raises(GadgetError, match=r"^--listen 192.0.2.1:0: cannot listen: "
                                          "not an address of this host$"):
        MetricsServer(Registry(), "192.0.2.1", 0)  # TEST-NET-1, never local


@pytest.mark.parametrize("text,want", [
    ("127.0.0.1:9100", ("127.0.0.1", 9100)), (":9100", ("0.0.0.0", 9100)),
    ("[::1]:9100", ("::1", 9100)), ("[::]", ("::", 9431)), ("localhost", ("localhost", 9431)),
])
def test_parse_listen(text, want):
    assert parse_listen(text) == want


@pytest.mark.parametrize("text,why", [
    ("127.0.0.1:http", "not a number"), ("1.2.3.4:70000", "not a number"),
    ("::1:80", "brackets"), ("[::1", r"\[ADDRESS\]:PORT"), ("[::1]x", r"\[ADDRESS\]:PORT"),
    ("", "no address"),
])
def test_parse_listen_refuses(text, why):
    with pytest.raises(GadgetError, match=why):
        parse_listen(text)
