"""Kernels for the guests: Debian's packaged kernels, fetched and cached.

A kernel is named by an alias (``6.1``), a Debian suite (``sid``) or a path
to a vmlinuz/vmlinux, for an architecture (Debian's name: amd64, arm64).
Aliases resolve to the newest ``linux-image-ARCH`` of their suites in a
private apt root per architecture (own sources, lists and state under the
cache; the host's apt is never touched), using the Debian mirror that the
host's own apt sources name. The packages are unpacked once; the cache keeps
only what a boot needs: the ELF vmlinux (amd64) or the Image (arm64, which
Debian ships uncompressed) and the modules of GUEST_MODULES with their
dependencies, decompressed.

Cache layout ($PYBPF_VMTESTS_CACHE, default ~/.cache/pybpf-vmtests)::

    apt/, apt-arm64/      private apt roots (sources, lists, state)
    aliases/<name>.json   alias -> release, package version (arm64: <name>@arm64.json)
    kernels/<release>/    vmlinux or Image, modules/<mod>.ko, modules.order, meta.json
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from . import bzimage
from .modules import ModuleError, ModuleTree, read_module

# Alias -> the suites whose newest linux-image-ARCH it means.
ALIASES: Dict[str, Tuple[str, ...]] = {
    "5.10": ("bullseye", "bullseye-security"),
    "6.1": ("bookworm", "bookworm-security"),
    "6.12": ("trixie", "trixie-security"),
    "6.12-bpo": ("bookworm-backports",),
    "7.x": ("sid", "trixie-backports"),
}
MATRIX = ("5.10", "6.1", "6.12", "7.x")
ARCHES = ("amd64", "arm64")
HOST_ARCH = "amd64"
# Each architecture's default matrix: arm64 boots only under TCG, ~4x slower.
MATRIX_BY_ARCH = {"amd64": MATRIX, "arm64": ("6.1", "6.12")}
ARCHIVE_SUITES = ("bullseye", "bookworm", "bookworm-backports", "trixie", "trixie-backports",
                  "sid")
SECURITY_SUITES = ("bullseye-security", "bookworm-security", "trixie-security")
DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
LISTS_MAX_AGE = 6 * 3600

_KERNEL_DEP = re.compile(r"^(linux-(?:image|binary|modules|base)-\d\S*)\s*\(=\s*(\S+)\)$")


class KernelError(Exception):
    """A kernel could not be named, fetched or prepared."""


def cache_root() -> Path:
    env = os.environ.get("PYBPF_VMTESTS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "pybpf-vmtests"


def arch_of(name: str) -> str:
    """Debian's architecture name for ``uname -m`` or Debian spellings."""
    known = {"x86_64": "amd64", "amd64": "amd64", "x86": "amd64",
             "aarch64": "arm64", "arm64": "arm64"}
    if name not in known:
        raise KernelError(f"unknown architecture {name!r}: use one of {', '.join(ARCHES)}")
    return known[name]


@dataclass
class Kernel:
    """A kernel ready to boot: an ELF vmlinux (amd64) or Image (arm64) and the
    guest's modules in load order."""

    name: str
    release: str
    version: str
    dir: Path
    arch: str = "amd64"

    @property
    def vmlinux(self) -> Path:
        """What qemu's -kernel boots."""
        return self.dir / ("Image" if self.arch == "arm64" else "vmlinux")

    def modules(self) -> List[Path]:
        order = (self.dir / "modules.order").read_text().split()
        return [self.dir / "modules" / f"{name}.ko" for name in order]

    @classmethod
    def from_dir(cls, name: str, path: Path) -> Optional["Kernel"]:
        meta = path / "meta.json"
        if not meta.exists():
            return None
        data = json.loads(meta.read_text())
        kernel = cls(name, data["release"], data.get("version", ""), path,
                     data.get("arch", "amd64"))
        return kernel if kernel.vmlinux.exists() else None


# ---------------------------------------------------------------- host mirror

def _host_source_entries(etc: Path) -> Iterable[Tuple[str, str]]:
    """(uri, signed_by) for every deb entry of the host's apt sources."""
    files = []
    if (etc / "sources.list").exists():
        files.append(etc / "sources.list")
    parts = etc / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line or line[:1].isspace():
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if fields.get("enabled", "yes").lower() == "no":
                    continue
                if "deb" not in fields.get("types", "").split():
                    continue
                for uri in fields.get("uris", "").split():
                    yield uri, fields.get("signed-by", "")
        else:
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if not words or words[0] != "deb":
                    continue
                signed = ""
                rest = words[1:]
                if rest and rest[0].startswith("["):
                    opts = []
                    while rest:
                        word = rest.pop(0)
                        opts.append(word)
                        if word.endswith("]"):
                            break
                    for opt in " ".join(opts).strip("[]").split():
                        if opt.startswith("signed-by="):
                            signed = opt.split("=", 1)[1]
                if rest:
                    yield rest[0], signed


def host_mirror(etc: Path = Path("/etc/apt")) -> Tuple[str, str, str]:
    """(archive uri, security uri, keyring) taken from the host's apt sources."""
    archive = security = ""
    keyring = ""
    for uri, signed in _host_source_entries(etc):
        base = uri.rstrip("/")
        if base.endswith("/debian-security") and not security:
            security = base
        elif base.endswith("/debian") and not archive:
            archive = base
            keyring = signed if signed.startswith("/") else ""
    if not archive:
        raise KernelError(f"no Debian archive (a URI ending in /debian) in {etc}/sources.list*")
    if not security:
        security = archive[: -len("/debian")] + "/debian-security"
    return archive, security, keyring or DEFAULT_KEYRING


# ---------------------------------------------------------------- private apt root

class AptRoot:
    """apt-get/apt-cache confined to a directory of the cache."""

    def __init__(self, root: Path, arch: str = "amd64",
                 suites: Tuple[Tuple[str, ...], Tuple[str, ...]] = (ARCHIVE_SUITES,
                                                                    SECURITY_SUITES)) -> None:
        self.root = root
        self.arch = arch
        self.suites = suites

    def _options(self) -> List[str]:
        r = self.root
        return [
            "-o", f"Dir::State={r}/state",
            "-o", f"Dir::State::Lists={r}/state/lists",
            "-o", f"Dir::State::status={r}/state/status",
            "-o", f"Dir::Cache={r}/cache",
            "-o", f"Dir::Cache::archives={r}/cache/archives",
            "-o", "Dir::Etc::SourceList=/dev/null",
            "-o", f"Dir::Etc::SourceParts={r}/sources.list.d",
            "-o", "Dir::Etc::Preferences=/dev/null",
            "-o", f"Dir::Etc::PreferencesParts={r}/preferences.d",
            "-o", f"APT::Architectures={self.arch}",
            "-o", f"APT::Architecture={self.arch}",
            "-o", "Acquire::Languages=none",
            "-o", "APT::Sandbox::User=root",
            "-o", "Debug::NoLocking=1",
        ]

    def setup(self) -> None:
        archive, security, keyring = host_mirror()
        for sub in ("state/lists/partial", "cache/archives/partial", "sources.list.d",
                    "preferences.d"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "state/status").touch()
        archive_suites, security_suites = self.suites
        text = (f"Types: deb\nURIs: {archive}\nSuites: {' '.join(archive_suites)}\n"
                f"Components: main\nArchitectures: {self.arch}\nSigned-By: {keyring}\n\n"
                f"Types: deb\nURIs: {security}\nSuites: {' '.join(security_suites)}\n"
                f"Components: main\nArchitectures: {self.arch}\nSigned-By: {keyring}\n")
        sources = self.root / "sources.list.d" / "debian.sources"
        if not sources.exists() or sources.read_text() != text:
            sources.write_text(text)
            stamp = self._stamp()
            if stamp.exists():
                stamp.unlink()

    def _stamp(self) -> Path:
        return self.root / "state" / "updated"

    def update(self, force: bool = False) -> None:
        stamp = self._stamp()
        if not force and stamp.exists() and time.time() - stamp.stat().st_mtime < LISTS_MAX_AGE:
            return
        self._run(["apt-get", "-q", "update"], quiet=True)
        stamp.touch()

    def show(self, spec: str) -> Optional[Dict[str, str]]:
        proc = subprocess.run(["apt-cache", *self._options(), "show", spec],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if proc.returncode != 0 or not proc.stdout.strip():
            return None
        fields: Dict[str, str] = {}
        for line in proc.stdout.split("\n\n")[0].splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        return fields

    def versions(self, specs: List[str]) -> Dict[str, str]:
        """Package -> version for ``specs`` ("pkg/suite"), in one apt-cache call
        (each call parses every list: seconds for an arm64 root)."""
        proc = subprocess.run(["apt-cache", *self._options(), "show", *specs],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        found: Dict[str, str] = {}
        for stanza in proc.stdout.split("\n\n"):
            fields = dict(line.split(": ", 1) for line in stanza.splitlines()
                          if line and not line[0].isspace() and ": " in line)
            if "Package" in fields and "Version" in fields:
                found.setdefault(fields["Package"], fields["Version"])
        return found

    def download(self, specs: List[str], dest: Path) -> None:
        self._run(["apt-get", "-q", "download", *specs], cwd=dest, quiet=True)

    def _run(self, argv: List[str], cwd: Optional[Path] = None, quiet: bool = False) -> None:
        cmd = [argv[0], *self._options(), *argv[1:]]
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        if proc.returncode != 0:
            raise KernelError(f"{' '.join(argv)} failed:\n{proc.stdout[-2000:]}")


def version_gt(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0


def kernel_packages(apt: AptRoot, suites: Iterable[str]) -> Tuple[str, List[str]]:
    """(version, ["pkg=version", ...]) of the newest linux-image-ARCH among ``suites``."""
    meta = f"linux-image-{apt.arch}"
    best: Optional[Dict[str, str]] = None
    for suite in suites:
        fields = apt.show(f"{meta}/{suite}")
        if fields and (best is None or version_gt(fields["Version"], best["Version"])):
            best = fields
    if best is None:
        raise KernelError(f"no {meta} in {', '.join(suites)}")
    specs: List[str] = []
    todo = [best]
    while todo:
        fields = todo.pop()
        for dep in fields.get("Depends", "").split(","):
            for alternative in dep.split("|"):
                match = _KERNEL_DEP.match(alternative.strip())
                if match:
                    spec = f"{match.group(1)}={match.group(2)}"
                    if spec not in specs:
                        specs.append(spec)
                        sub = apt.show(spec)
                        if sub is None:
                            raise KernelError(f"{spec} is named but not in the archive")
                        todo.append(sub)
    if not specs:
        raise KernelError(f"{meta} {best['Version']}: no kernel package in Depends")
    return best["Version"], specs


# ---------------------------------------------------------------- preparing a tree

def _find_modules_dir(root: Path, release: str) -> Optional[Path]:
    for sub in ("lib/modules", "usr/lib/modules"):
        path = root / sub / release
        if path.is_dir():
            return path
    return None


def prepare(dest: Path, name: str, release: str, version: str, vmlinuz: Path,
            modules_dir: Optional[Path], source: str, arch: str = "amd64") -> Kernel:
    """Fill ``dest`` with the bootable image and guest modules of one kernel."""
    work = dest.with_name(dest.name + ".partial")
    if work.exists():
        shutil.rmtree(work)
    (work / "modules").mkdir(parents=True)
    if arch == "arm64":
        shutil.copyfile(vmlinuz, work / "Image")  # Debian's arm64 vmlinuz is a plain Image
    else:
        bzimage.extract_vmlinux(vmlinuz, work / "vmlinux")
    order: List[str] = []
    if modules_dir is not None:
        tree = ModuleTree.scan(modules_dir)
        try:
            order = tree.closure()
        except ModuleError as exc:
            raise KernelError(f"{name} ({release}): {exc}") from None
        for mod in order:
            (work / "modules" / f"{mod}.ko").write_bytes(read_module(tree.files[mod]))
    (work / "modules.order").write_text("".join(m + "\n" for m in order))
    meta = {"release": release, "version": version, "source": source, "arch": arch,
            "prepared": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (work / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    if dest.exists():
        shutil.rmtree(dest)
    work.rename(dest)
    return Kernel(name, release, version, dest, arch)


def _unpack(debs: List[Path], root: Path) -> None:
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)


# ---------------------------------------------------------------- public

def is_path(name: str) -> bool:
    return "/" in name or Path(name).exists()


def apt_root(arch: str) -> AptRoot:
    """The private apt root of one architecture (set up, lists not refreshed)."""
    apt = AptRoot(cache_root() / ("apt" if arch == "amd64" else f"apt-{arch}"), arch)
    apt.setup()
    return apt


def fetch_alias(name: str, refresh: bool = False, log=print, arch: str = "amd64") -> Kernel:
    """A cached kernel for an alias or suite, downloading it if needed."""
    suites = ALIASES.get(name) or ((name,) if name in ARCHIVE_SUITES + SECURITY_SUITES else None)
    if suites is None:
        known = ", ".join(list(ALIASES) + list(ARCHIVE_SUITES))
        raise KernelError(f"unknown kernel {name!r}: use one of {known} or a vmlinuz path")
    cache = cache_root()
    alias_file = cache / "aliases" / (f"{name}.json" if arch == "amd64" else f"{name}@{arch}.json")
    if not refresh and alias_file.exists():
        release = json.loads(alias_file.read_text())["release"]
        kernel = Kernel.from_dir(name, cache / "kernels" / release)
        if kernel is not None:
            return kernel
    apt = apt_root(arch)
    started = time.monotonic()
    apt.update(force=refresh)
    version, specs = kernel_packages(apt, suites)
    (cache / "kernels").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache / "kernels", prefix="download-") as tmp:
        tmpdir = Path(tmp)
        log(f"[{name}] downloading {' '.join(specs)}")
        apt.download(specs, tmpdir)
        root = tmpdir / "root"
        _unpack(sorted(tmpdir.glob("*.deb")), root)
        # Up to 6.x the image is boot/vmlinuz-<release>; from 7.x Debian's
        # linux-binary-* ships usr/lib/modules/<release>/vmlinuz.
        images = [(p, p.name[len("vmlinuz-"):]) for p in sorted(root.glob("boot/vmlinuz-*"))]
        images += [(p, p.parent.name) for p in sorted(root.glob("usr/lib/modules/*/vmlinuz"))]
        images += [(p, p.parent.name) for p in sorted(root.glob("lib/modules/*/vmlinuz"))]
        if len(images) != 1:
            raise KernelError(f"{name}: expected one kernel image in {specs}, found "
                              f"{[str(p.relative_to(root)) for p, _ in images]}")
        image, release = images[0]
        modules_dir = _find_modules_dir(root, release)
        if modules_dir is None:
            raise KernelError(f"{name}: no lib/modules/{release} in {specs}")
        kernel = prepare(cache / "kernels" / release, name, release, version, image,
                         modules_dir, f"debian {'/'.join(suites)}: {' '.join(specs)}", arch)
    alias_file.parent.mkdir(parents=True, exist_ok=True)
    alias_file.write_text(json.dumps({"release": release, "version": version}) + "\n")
    log(f"[{name}] {release} ({version}) ready in {time.monotonic() - started:.0f} s")
    return kernel


def from_path(path_name: str, log=print) -> Kernel:
    """A kernel from a vmlinuz (or ELF vmlinux) on disk; modules looked up beside it."""
    path = Path(path_name).resolve()
    if not path.is_file():
        raise KernelError(f"{path_name}: no such kernel image")
    stat = path.stat()
    key = hashlib.sha1(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    dest = cache_root() / "kernels" / f"local-{key}"
    kernel = Kernel.from_dir(path_name, dest)
    if kernel is not None:
        return kernel
    release = bzimage.kernel_release(path.read_bytes()) or path.name.split("-", 1)[-1]
    modules_dir = None
    for root in (path.parent.parent, Path("/")):
        modules_dir = _find_modules_dir(root, release)
        if modules_dir:
            break
    if modules_dir is None:
        log(f"[{path_name}] no modules for {release} found: assuming virtio, 9p and "
            "overlay are built in")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return prepare(dest, path_name, release, "", path, modules_dir, f"path {path}")


def get(name: str, refresh: bool = False, log=print, arch: str = "amd64") -> Kernel:
    """A kernel ready to boot; one process at a time prepares kernels in a cache."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_path(name):
            if arch != "amd64":
                raise KernelError(f"{name}: kernel paths are for amd64 guests only")
            return from_path(name, log)
        return fetch_alias(name, refresh, log, arch)


def cached() -> List[Tuple[str, Optional[Kernel]]]:
    """(alias, kernel or None) for every alias ever fetched."""
    out = []
    for alias_file in sorted((cache_root() / "aliases").glob("*.json")):
        release = json.loads(alias_file.read_text())["release"]
        out.append((alias_file.stem,
                    Kernel.from_dir(alias_file.stem, cache_root() / "kernels" / release)))
    return out
