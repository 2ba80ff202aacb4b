"""Which build of a BPF object fits the running machine.

Programs whose code depends on the architecture (pt_regs argument macros,
syscall wrapper names, anything under ``__TARGET_ARCH_*``) are built once per
architecture, side by side: ``NAME.x86.bpf.o`` and ``NAME.arm64.bpf.o``;
every other program is built once as ``NAME.bpf.o``. Callers name the
object the plain way and :func:`arch_object` turns that into the file to
load. The architecture names are libbpf's ``__TARGET_ARCH_*`` suffixes.
"""
from __future__ import annotations

import os

from pybpf.errors import LoadError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Dict, Optional, Union

# `uname -m` -> the __TARGET_ARCH_* name an object for that machine is built with.
TARGET_ARCH: Dict[str, str] = {
    "x86_64": "x86",
    "aarch64": "arm64",
    "arm64": "arm64",
    "s390x": "s390",
    "ppc64le": "powerpc",
    "ppc64": "powerpc",
    "riscv64": "riscv",
    "loongarch64": "loongarch",
    "armv7l": "arm",
}

_SUFFIX = ".bpf.o"


def target_arch(machine: Optional[str] = None) -> str:
    """The ``__TARGET_ARCH_*`` name for ``machine`` (default: ``uname -m``)."""
    machine = machine or os.uname().machine
    return TARGET_ARCH.get(machine, machine)


def arch_file(path: str, machine: Optional[str] = None) -> str:
    """The file to load for the object named ``path`` on ``machine``.

    ``dir/NAME.bpf.o`` becomes ``dir/NAME.<arch>.bpf.o`` when that build
    exists, else stays as it is (an object that is the same on every
    architecture). A path naming a build explicitly, or a file that does not
    end in ``.bpf.o``, is returned unchanged. When only other architectures'
    builds exist, LoadError names the object, the machine and the builds
    there are.
    """
    folder, name = os.path.split(path)
    if not name.endswith(_SUFFIX):
        return path
    stem = name[: -len(_SUFFIX)]
    arch = target_arch(machine)
    built = os.path.join(folder, f"{stem}.{arch}{_SUFFIX}")
    if os.path.exists(built):
        return built
    if os.path.exists(path):
        return path
    try:
        listed = os.listdir(folder or ".")
    except OSError:
        listed = []
    others = sorted(n[len(stem) + 1: -len(_SUFFIX)] for n in listed
                    if n.startswith(f"{stem}.") and n.endswith(_SUFFIX)
                    and n[len(stem) + 1: -len(_SUFFIX)] in TARGET_ARCH.values())
    if others:
        raise LoadError(f"{path}: no build for {machine or os.uname().machine} "
                        f"(__TARGET_ARCH_{arch}); built for {', '.join(others)}")
    return path


def arch_object(path: Union[str, "os.PathLike[str]"], machine: Optional[str] = None) -> "Path":
    """arch_file() as a pathlib.Path (pathlib, with urllib.parse and ipaddress, is
    imported here rather than on every start: the loader works on str paths)."""
    from pathlib import Path

    return Path(arch_file(os.fspath(path), machine))
