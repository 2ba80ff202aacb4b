"""Shared by the metrics tests: `pybpf serve` and a Prometheus server as
child processes on loopback, and small HTTP helpers."""
from __future__ import annotations

import json
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, List

SERVE = [sys.executable, "-m", "pybpf", "serve"]
_LISTENING = re.compile(r"on http://127\.0\.0\.1:(\d+)/metrics")


def http_get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """`pybpf serve ARGS --listen 127.0.0.1:0` until stop(); ``url`` once listening."""

    def __init__(self, args: List[str], timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen(SERVE + args + ["--listen", "127.0.0.1:0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.stderr = ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.2)
            if ready:
                line = self.proc.stderr.readline()
                self.stderr += line
                m = _LISTENING.search(line)
                if m:
                    self.port = int(m.group(1))
                    self.url = f"http://127.0.0.1:{self.port}"
                    return
                if not line:
                    break
        self.stop()
        raise AssertionError(f"pybpf serve did not start: {self.stderr}")

    def metrics(self) -> str:
        return http_get(self.url + "/metrics")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Signal it and wait; its exit status (kills it after ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            assert self.proc.stderr is not None
            self.stderr += self.proc.stderr.read()
            self.proc.stderr.close()
        return rc

    def __enter__(self) -> "Serve":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Prometheus:
    """Debian's prometheus scraping ``target`` every second, on a free loopback port."""

    def __init__(self, workdir: Path, target: str) -> None:
        binary = shutil.which("prometheus")
        assert binary, "prometheus missing: apt-get install -y prometheus (.ci/run does)"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: pybpf\n    static_configs:\n"
            f"      - targets: ['{target}']\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                http_get(self.url + "/-/ready", timeout=1)
                return
            except OSError:
                assert self.proc.poll() is None, (workdir / "prometheus.log").read_text()
                time.sleep(0.3)
        self.close()
        raise AssertionError("prometheus did not become ready")

    def query(self, expr: str) -> List[Dict[str, object]]:
        """The instant vector of ``expr`` now (``[{"metric": {...}, "value": [t, "v"]}]``)."""
        q = urllib.parse.urlencode({"query": expr})
        doc = json.loads(http_get(f"{self.url}/api/v1/query?{q}"))
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    def wait_value(self, expr: str, want: float, timeout: float = 30.0) -> List[Dict[str, object]]:
        """Poll ``expr`` until one sample equals ``want``; the result then."""
        deadline = time.monotonic() + timeout
        result: List[Dict[str, object]] = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if any(float(r["value"][1]) == want for r in result):  # type: ignore[index]
                return result
            time.sleep(0.5)
        raise AssertionError(f"{expr}: never {want}; last {result}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def promtool_check(text: str) -> str:
    """promtool check metrics' complaints about ``text`` ("" when none)."""
    done = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                          capture_output=True, timeout=60)
    out = (done.stdout + done.stderr).decode().strip()
    return out if done.returncode or out else ""

