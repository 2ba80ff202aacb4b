"""Pick the kernel modules a guest needs and order them for insmod.

Debian builds virtio, 9p, overlay and friends as modules. The .deb has no
modules.dep (depmod runs at install time), so dependencies come from each
module's own ``.modinfo`` section (``depends=a,b``). Modules listed in
modules.builtin are compiled in and skipped. Compressed modules (.ko.xz from
6.12 on, .ko.zst, .ko.gz) are decompressed on the host, so busybox insmod in
the guest only ever sees plain ELF.
"""
from __future__ import annotations

import gzip
import lzma
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Set

# What the guest needs: PCI virtio transport, the serial port that carries
# results back, the 9p root and checkout shares, and overlayfs for a writable /.
GUEST_MODULES = ("virtio_pci", "virtio_console", "9pnet_virtio", "9p", "overlay")

_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


class ModuleError(Exception):
    """A module the guest needs is missing or unreadable."""


def normalize(name: str) -> str:
    return name.replace("-", "_")


def strip_suffix(filename: str) -> str:
    for suffix in _SUFFIXES[::-1]:
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def read_module(path: Path) -> bytes:
    """The plain ELF bytes of a possibly compressed module."""
    data = path.read_bytes()
    name = path.name
    if name.endswith(".xz"):
        return lzma.decompress(data)
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".zst"):
        tool = shutil.which("zstd")
        if tool is None:
            raise ModuleError(f"{path}: zstd command missing (apt-get install zstd)")
        return subprocess.run([tool, "-dcq"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    return data


def elf_section(elf: bytes, wanted: str) -> bytes:
    """The contents of one section of a little-endian ELF64 file."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ModuleError("not a little-endian ELF64 module")
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)

    def header(i: int):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
        return struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)

    strtab = header(shstrndx)
    names = elf[strtab[4]:strtab[4] + strtab[5]]
    for i in range(shnum):
        sh = header(i)
        end = names.index(b"\0", sh[0])
        if names[sh[0]:end].decode() == wanted:
            return elf[sh[4]:sh[4] + sh[5]]
    raise ModuleError(f"no {wanted} section")


def modinfo(elf: bytes) -> Dict[str, List[str]]:
    """``.modinfo`` as key -> values (a key such as alias may repeat)."""
    info: Dict[str, List[str]] = {}
    for entry in elf_section(elf, ".modinfo").split(b"\0"):
        if b"=" in entry:
            key, _, value = entry.decode("utf-8", "replace").partition("=")
            info.setdefault(key, []).append(value)
    return info


def depends(elf: bytes) -> List[str]:
    values = modinfo(elf).get("depends", [""])
    return [normalize(d) for d in values[0].split(",") if d]


@dataclass
class ModuleTree:
    """The modules of one kernel: /lib/modules/<release> of an unpacked package."""

    root: Path
    files: Dict[str, Path] = field(default_factory=dict)
    builtin: Set[str] = field(default_factory=set)

    @classmethod
    def scan(cls, root: Path) -> "ModuleTree":
        tree = cls(Path(root))
        for path in sorted(tree.root.rglob("*.ko*")):
            tree.files.setdefault(normalize(strip_suffix(path.name)), path)
        builtin = tree.root / "modules.builtin"
        if builtin.exists():
            for line in builtin.read_text().split():
                tree.builtin.add(normalize(strip_suffix(line.rsplit("/", 1)[-1])))
        return tree

    def closure(self, wanted=GUEST_MODULES) -> List[str]:
        """``wanted`` and their dependencies, dependencies first; builtins left out."""
        order: List[str] = []
        state: Dict[str, str] = {}

        def visit(name: str, chain: List[str]) -> None:
            if state.get(name) == "done" or name in self.builtin:
                return
            if state.get(name) == "busy":
                raise ModuleError("dependency cycle: " + " -> ".join(chain + [name]))
            path = self.files.get(name)
            if path is None:
                via = f" (needed by {chain[-1]})" if chain else ""
                raise ModuleError(f"module {name}{via} is neither built in nor in {self.root}")
            state[name] = "busy"
            for dep in depends(read_module(path)):
                visit(dep, chain + [name])
            state[name] = "done"
            order.append(name)

        for name in wanted:
            visit(normalize(name), [])
        return order
