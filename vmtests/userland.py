"""A root filesystem for guests of another architecture (arm64).

An amd64 guest mounts this machine's own ``/`` over 9p; an arm64 guest cannot
run its binaries. Instead it gets a small Debian bookworm arm64 userland:
static busybox, Python 3.11 with its standard library and the C libraries
its extension modules load, pytest and pybpf's two dependencies, all taken
from Debian packages through the architecture's private apt root and
unpacked with ``dpkg-deb -x`` (nothing is installed or configured: no
maintainer scripts run). The checkout is shared into the guest as for amd64.

Built once per package set and cached::

    userland/arm64-<key>/root    the tree the guest mounts as its /
    userland/arm64-<key>/meta.json

The standard library is byte-compiled on the host with a Python of the same
minor version when there is one (pyc files are architecture-independent),
which saves the guest compiling it under TCG on every run.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import List, Tuple

from . import kernels

SUITE = "bookworm"
PYTHON_VERSION = "3.11"
GUEST_PYTHON = f"/usr/bin/python{PYTHON_VERSION}"
# Debian package -> why the guest needs it.
PACKAGES = {
    "busybox-static": "sh and the commands tests run, and the initramfs's /init",
    "libc6": "the C library and the dynamic loader",
    "libgcc-s1": "unwinding, needed by libc's pthread_cancel",
    f"python{PYTHON_VERSION}-minimal": "the interpreter",
    f"libpython{PYTHON_VERSION}-minimal": "the core standard library",
    f"libpython{PYTHON_VERSION}-stdlib": "the rest of the standard library",
    "libffi8": "ctypes",
    "zlib1g": "zlib, gzip (/proc/config.gz)",
    "libexpat1": "xml (pytest's junit xml)",
    "libssl3": "hashlib",
    "libbz2-1.0": "bz2",
    "liblzma5": "lzma",
    "libuuid1": "uuid's C helper",
    "python3-pytest": "pytest",
    "python3-attr": "pytest",
    "python3-py": "pytest (Debian's 7.2 uses py.path from it)",
    "python3-pluggy": "pytest",
    "python3-iniconfig": "pytest",
    "python3-packaging": "pytest",
    "python3-pyelftools": "pybpf",
    "python3-construct": "pybpf",
}
DIRS = ("proc", "sys", "dev", "tmp", "run", "root", "mnt", "etc")


class UserlandError(Exception):
    """The guest userland could not be fetched or built."""


def _host_python() -> str:
    """A host interpreter of the guest's Python version, or "" (no precompile)."""
    found = shutil.which(f"python{PYTHON_VERSION}")
    if found:
        return found
    for root in sorted(Path("/root/.pyenv/versions").glob(f"{PYTHON_VERSION}.*"), reverse=True):
        candidate = root / "bin" / f"python{PYTHON_VERSION}"
        if candidate.exists():
            return str(candidate)
    return ""


def _versions(apt: kernels.AptRoot) -> List[Tuple[str, str]]:
    found = apt.versions([f"{pkg}/{SUITE}" for pkg in PACKAGES])
    missing = [pkg for pkg in PACKAGES if pkg not in found]
    if missing:
        raise UserlandError(f"not in {SUITE} ({apt.arch}): {', '.join(missing)}")
    return [(pkg, found[pkg]) for pkg in PACKAGES]


def _link_busybox_applets(root: Path) -> None:
    """/bin/sh, /bin/cat ... as links to busybox, where the tree has no such file."""
    listing = subprocess.run(["busybox", "--list-full"], capture_output=True, text=True)
    applets = listing.stdout.split() if listing.returncode == 0 else []
    if not applets:
        applets = ["bin/sh", "bin/cat", "bin/ls", "bin/mount", "bin/hostname", "usr/bin/env"]
    for rel in applets:
        path = root / rel
        if path.exists() or path.is_symlink():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to("/bin/busybox")


def _finish(root: Path) -> None:
    for d in DIRS:
        (root / d).mkdir(exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    _link_busybox_applets(root)
    python3 = root / "usr" / "bin" / "python3"
    if not python3.exists():
        python3.symlink_to(f"python{PYTHON_VERSION}")


def _precompile(root: Path, log) -> None:
    host = _host_python()
    if not host:
        log(f"userland: no host python{PYTHON_VERSION}: the guest compiles the stdlib itself")
        return
    dirs = [root / "usr" / "lib" / f"python{PYTHON_VERSION}", root / "usr/lib/python3/dist-packages"]
    subprocess.run([host, "-m", "compileall", "-q", "-j", "0", "-x", r"/test/|lib2to3/tests",
                    *map(str, dirs)], check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def get(arch: str, log=print) -> Path:
    """The root of the ``arch`` guest userland, built on first use."""
    if arch != "arm64":
        raise UserlandError(f"no guest userland for {arch}: amd64 guests use the host's /")
    apt = kernels.apt_root(arch)
    apt.update()
    versions = _versions(apt)
    key = hashlib.sha256(json.dumps(versions).encode()).hexdigest()[:12]
    base = kernels.cache_root() / "userland"
    dest = base / f"{arch}-{key}"
    if (dest / "meta.json").exists():
        return dest / "root"
    started = time.monotonic()
    work = base / f"{arch}-{key}.partial"
    if work.exists():
        shutil.rmtree(work)
    (work / "debs").mkdir(parents=True)
    log(f"[userland {arch}] downloading {len(versions)} {SUITE} packages")
    apt.download([f"{pkg}={version}" for pkg, version in versions], work / "debs")
    root = work / "root"
    for deb in sorted((work / "debs").glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    shutil.rmtree(work / "debs")
    _finish(root)
    _precompile(root, log)
    meta = {"arch": arch, "suite": SUITE, "packages": dict(versions),
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (work / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    if dest.exists():
        shutil.rmtree(dest)
    work.rename(dest)
    log(f"[userland {arch}] ready in {time.monotonic() - started:.0f} s: {dest}")
    return dest / "root"
