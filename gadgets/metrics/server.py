"""The HTTP endpoint: ``/metrics`` (text format 0.0.4) and ``/healthz``.

Standard library only (``http.server.ThreadingHTTPServer``). The socket is
bound when the :class:`MetricsServer` is made, so a port in use or an
address this host does not have is reported (one line, naming the address)
before any gadget is attached. Each request runs in its own daemon thread
and renders from a registry snapshot copied under the registry's lock, so a
slow or stalled client holds neither the lock nor the readers; a client that
sends nothing for ``CLIENT_TIMEOUT`` seconds is dropped. :meth:`close` stops
accepting and releases the socket without waiting for clients in flight.
"""
from __future__ import annotations

import errno
import http.server
import socket
import threading
from typing import Any, Callable, Optional, Tuple

from ..common.errors import GadgetError
from .defaults import DEFAULT_PORT
from .exposition import CONTENT_TYPE, Renderer
from .registry import Registry

CLIENT_TIMEOUT = 10.0

#: ``health() -> (ok, text)``: what /healthz answers (200 or 503 with ``text``).
Health = Callable[[], Tuple[bool, str]]


def parse_listen(text: str) -> Tuple[str, int]:
    """``ADDR:PORT``, ``[V6ADDR]:PORT``, ``:PORT`` (every IPv4 address) or
    ``ADDR`` (port 9431) -> ``(host, port)``."""
    where = text.strip()
    host, port_text = where, str(DEFAULT_PORT)
    if where.startswith("["):
        end = where.find("]")
        rest = where[end + 1:] if end >= 0 else ""
        if end < 0 or (rest and not rest.startswith(":")):
            raise GadgetError(f"--listen {text!r}: expected [ADDRESS]:PORT")
        host = where[1:end]
        if rest:
            port_text = rest[1:]
    elif where.count(":") == 1:
        host, port_text = where.split(":")
        host = host or "0.0.0.0"
    elif ":" in where:
        raise GadgetError(f"--listen {text!r}: write an IPv6 address in brackets, [ADDRESS]:PORT")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise GadgetError(f"--listen {text!r}: port {port_text!r} is not a number 0..65535")
    if not host:
        raise GadgetError(f"--listen {text!r}: no address")
    return host, int(port_text)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: "_HTTPServer"
    timeout = CLIENT_TIMEOUT
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body = self.server.renderer.render(self.server.registry.snapshot()).encode()
            self._send(200, CONTENT_TYPE, body)
        elif path == "/healthz":
            ok, text = self.server.health()
            self._send(200 if ok else 503, "text/plain; charset=utf-8", (text + "\n").encode())
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client went away mid-answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every few seconds is not news


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # close() must not wait for a stalled client

    def __init__(self, address: Tuple[str, int], family: int, registry: Registry,
                 health: Health) -> None:
        self.address_family = family
        self.registry = registry
        self.health = health
        self.renderer = Renderer()
        super().__init__(address, _Handler)


class MetricsServer:
    """The endpoint of one registry, bound at construction, served from a thread."""

    def __init__(self, registry: Registry, host: str, port: int,
                 health: Optional[Health] = None) -> None:
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._http = _HTTPServer((host, port), family, registry,
                                     health or (lambda: (True, "ok")))
        except socket.gaierror as exc:
            raise GadgetError(f"--listen {shown}: unknown address ({exc.strerror})") from None
        except OSError as exc:
            reason = {errno.EADDRINUSE: "the port is in use",
                      errno.EADDRNOTAVAIL: "not an address of this host",
                      errno.EACCES: "permission denied"}.get(exc.errno or 0, exc.strerror)
            raise GadgetError(f"--listen {shown}: cannot listen: {reason}") from None
        self._thread: Optional[threading.Thread] = None

    @property
    def address(self) -> Tuple[str, int]:
        """The bound (host, port): the real port when 0 was asked for."""
        host, port = self._http.server_address[:2]
        return str(host), int(port)

    def start(self) -> "MetricsServer":
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="pybpf-metrics-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, free the socket; requests in flight finish on their own."""
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
            self._thread = None
        self._http.server_close()

    def __enter__(self) -> "MetricsServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
