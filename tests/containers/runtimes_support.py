"""Real container runtimes for the tests (no tests here): a busybox image
built from the busybox-static binary (no registry), podman, and containerd
and docker daemons started by hand when none answers (KERNEL.md's
recipes). Each helper removes what it made; a daemon is stopped only by the
helper that started it.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

IMAGE = "localhost/pybpf-bb:1"
APPLETS = ("sh", "sleep", "echo", "cat", "true", "ls", "id", "ps", "env")
LOOP = ["/bin/sh", "-c", "while true; do sleep 1; done"]


def unique(prefix: str) -> str:
    return f"pybpf{prefix}{uuid.uuid4().hex[:8]}"


def require(*tools: str) -> None:
    missing = [t for t in tools if not (shutil.which(t) or Path("/usr/sbin", t).exists())]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def sh(*argv: str, check: bool = True, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=check, timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def wait_until(cond, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class BusyboxImage:
    """IMAGE in podman's store, and a docker-archive of it for ctr and docker."""

    def __init__(self) -> None:
        require("podman", "busybox")
        self.name = IMAGE
        self.dir = Path(tempfile.mkdtemp(prefix="pybpf-bb-"))
        if sh("podman", "image", "exists", IMAGE, check=False).returncode != 0:
            rootfs = self.dir / "rootfs"
            (rootfs / "bin").mkdir(parents=True)
            shutil.copy(shutil.which("busybox"), rootfs / "bin" / "busybox")
            for applet in APPLETS:
                (rootfs / "bin" / applet).symlink_to("busybox")
            sh("tar", "-C", str(rootfs), "-cf", str(self.dir / "rootfs.tar"), ".")
            sh("podman", "import", "-q", str(self.dir / "rootfs.tar"), IMAGE)
        self.archive = self.dir / "bb-docker.tar"
        sh("podman", "save", "-q", "--format", "docker-archive", "-o", str(self.archive), IMAGE)


def busybox_image() -> BusyboxImage:
    return BusyboxImage()


class Podman:
    def __init__(self, image: BusyboxImage) -> None:
        self.image = image.name

    def run(self, name: str, *cmd: str, labels: Optional[Dict[str, str]] = None,
            rm: bool = False) -> str:
        argv = ["podman", "run", "-d", "--name", name]
        for k, v in (labels or {}).items():
            argv += ["--label", f"{k}={v}"]
        if rm:
            argv.append("--rm")
        return sh(*argv, self.image, *(cmd or LOOP)).stdout.strip()

    def inspect(self, name: str) -> dict:
        return json.loads(sh("podman", "inspect", name).stdout)[0]

    def exec(self, name: str, *cmd: str) -> None:
        sh("podman", "exec", name, *cmd, check=False)

    def rm(self, *names: str) -> None:
        sh("podman", "rm", "--ignore", "-f", "-t", "0", *names, check=False)

    def kube_play(self, yaml: Path) -> None:
        sh("podman", "kube", "play", str(yaml), timeout=180)

    def kube_down(self, yaml: Path) -> None:
        sh("podman", "kube", "down", str(yaml), check=False, timeout=180)


def answers(*argv: str) -> bool:
    """Whether a daemon's client command succeeds; a client that hangs counts as no."""
    try:
        return sh(*argv, check=False, timeout=15).returncode == 0
    except subprocess.TimeoutExpired:
        return False


class _Daemon:
    """A daemon found answering, or started here (and then stopped here)."""

    started: Optional[subprocess.Popen] = None

    def _start(self, argv: Sequence[str], answers, what: str, timeout: float = 60) -> None:
        if answers():
            return
        self.log = tempfile.NamedTemporaryFile(prefix=f"pybpf-{what}-", suffix=".log", delete=False)
        self.started = subprocess.Popen(list(argv), stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            wait_until(lambda: answers() or self.started.poll() is not None, timeout, what)
        except AssertionError:
            self.close()
            raise
        if self.started.poll() is not None:
            raise AssertionError(f"{what} exited: see {self.log.name}")

    def close(self) -> None:
        proc, self.started = self.started, None
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.log.close()
        os.unlink(self.log.name)


class Containerd(_Daemon):
    def __init__(self, image: BusyboxImage) -> None:
        self.image = image.name
        # with no socket, ctr waits 10 s to connect by default: ask for 2 s
        self._start(["containerd"], lambda: answers("ctr", "--connect-timeout", "2s", "version"),
                    "containerd")
        sh("ctr", "image", "import", str(image.archive))

    def run(self, name: str, *cmd: str, labels: Optional[Dict[str, str]] = None) -> None:
        argv = ["ctr", "run", "-d"]
        for k, v in (labels or {}).items():
            argv += ["--label", f"{k}={v}"]
        sh(*argv, self.image, name, *(cmd or LOOP))

    def info(self, name: str) -> dict:
        return json.loads(sh("ctr", "containers", "info", name).stdout)

    def pid(self, name: str) -> int:
        for line in sh("ctr", "task", "ls").stdout.splitlines()[1:]:
            parts = line.split()
            if parts and parts[0] == name:
                return int(parts[1])
        raise AssertionError(f"no task {name}")

    def exec(self, name: str, *cmd: str) -> None:
        sh("ctr", "task", "exec", "--exec-id", unique("x"), name, *cmd, check=False)

    def rm(self, *names: str) -> None:
        for name in names:
            sh("ctr", "task", "kill", "-s", "SIGKILL", name, check=False)
            for _ in range(50):
                if sh("ctr", "task", "rm", "-f", name, check=False).returncode != 0:
                    break
                time.sleep(0.1)
            sh("ctr", "containers", "rm", name, check=False)


def _docker_cli() -> str:
    return "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"


class Docker(_Daemon):
    RUN_FLAGS = ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]

    def __init__(self, image: BusyboxImage) -> None:
        self.cli = _docker_cli()
        self.image = image.name
        self._start(["/usr/sbin/dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none"],
                    lambda: answers(self.cli, "version"),
                    "dockerd")
        sh(self.cli, "load", "-i", str(image.archive))

    def run(self, name: str, *cmd: str, labels: Optional[Dict[str, str]] = None) -> str:
        argv = [self.cli, "run", "-d", "--name", name, *self.RUN_FLAGS]
        for k, v in (labels or {}).items():
            argv += ["--label", f"{k}={v}"]
        return sh(*argv, self.image, *(cmd or LOOP)).stdout.strip()

    def inspect(self, name: str) -> dict:
        return json.loads(sh(self.cli, "inspect", name).stdout)[0]

    def exec(self, name: str, *cmd: str) -> None:
        sh(self.cli, "exec", name, *cmd, check=False)

    def rm(self, *names: str) -> None:
        sh(self.cli, "rm", "-f", *names, check=False)


def app_pod_yaml(pod: str, image: str, labels: Optional[Dict[str, str]] = None,
                 command: Sequence[str] = LOOP) -> str:
    """A Kubernetes Pod (labels app=cart, tier=front unless given) with one
    container named ``cart``."""
    labels = labels or {"app": "cart", "tier": "front"}
    lines = "".join(f"    {k}: {v}\n" for k, v in labels.items())
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {pod}\n  labels:\n{lines}"
            f"spec:\n  containers:\n  - name: cart\n    image: {image}\n"
            f"    command: {json.dumps(list(command))}\n")


def mntns(pid: int) -> int:
    return os.stat(f"/proc/{pid}/ns/mnt").st_ino


def names_of(containers: List) -> List[str]:
    return [c.name for c in containers]
