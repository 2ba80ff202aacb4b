"""Target BTF for CO-RE: the running kernel's, or a BTF file given by path.

Owns finding and opening target BTF: /sys/kernel/btf/vmlinux (opened once per
process, its type index kept in the on-disk cache for the boot), kernel
modules' split BTF under /sys/kernel/btf/ (searched only when vmlinux has no
candidate, as libbpf), and BTF files named by the user: raw BTF or an ELF
(vmlinux image, object) with a .BTF section.
"""
from __future__ import annotations

import mmap
import os
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from pybpf.btf import Spec
from pybpf.errors import BTFError, CoreRelocationError

SYSFS_BTF = "/sys/kernel/btf"
PathLike = Union[str, "os.PathLike[str]"]
ELF_MAGIC = b"\x7fELF"

_lock = threading.Lock()
_kernel: Dict[str, "TargetBTF"] = {}
_vmlinux: Dict[str, Spec] = {}
_files: Dict[Tuple[str, int, int], "TargetBTF"] = {}


@dataclass
class TargetBTF:
    """The specs CO-RE searches, vmlinux first, and the files they came from."""

    vmlinux: Spec
    modules: List[Spec] = field(default_factory=list)
    paths: List[str] = field(default_factory=list)

    @property
    def specs(self) -> List[Spec]:
        return [self.vmlinux] + self.modules


def _btf_bytes_of_elf(path: str, data: Union[bytes, mmap.mmap]) -> bytes:
    from io import BytesIO

    from elftools.common.exceptions import ELFError as _PyELFError
    from elftools.elf.elffile import ELFFile
    try:
        elf = ELFFile(data if isinstance(data, mmap.mmap) else BytesIO(data))
        sec = elf.get_section_by_name(".BTF")
        if sec is None:
            raise CoreRelocationError(f"{path}: ELF file has no .BTF section to relocate against")
        return bytes(sec.data())
    except _PyELFError as exc:
        raise CoreRelocationError(f"{path}: malformed ELF: {exc}") from None


def load_btf_file(path: PathLike, base: Optional[Spec] = None) -> Spec:
    """A Spec from a raw BTF file or the .BTF section of an ELF file (a regular file,
    bounded and mapped: see pybpf.elf.source)."""
    from pybpf.elf.source import MAX_BTF_FILE_SIZE, map_file
    path = os.fspath(path)
    try:
        data = map_file(path, "a BTF file", MAX_BTF_FILE_SIZE, CoreRelocationError)
        if data[:4] != ELF_MAGIC:
            return Spec.from_bytes(data, base=base, name=path)  # the Spec keeps the mapping
        try:
            return Spec.from_bytes(_btf_bytes_of_elf(path, data), base=base, name=path)
        finally:
            if isinstance(data, mmap.mmap):
                data.close()
    except CoreRelocationError as exc:  # from map_file: "PATH: why"
        why = str(exc)[len(path) + 2:] if str(exc).startswith(f"{path}: ") else str(exc)
        raise CoreRelocationError(f"{path}: cannot read target BTF: {why}") from None
    except BTFError as exc:
        raise CoreRelocationError(f"{path}: not a usable BTF file: {exc}") from None


def _no_kernel_btf(vmlinux_path: str) -> CoreRelocationError:
    return CoreRelocationError(
        f"{vmlinux_path}: this kernel exposes no BTF (CONFIG_DEBUG_INFO_BTF off?); "
        "CO-RE relocations need one: pass btf=PATH to a BTF file or vmlinux image")


def kernel_files(sysfs: str = SYSFS_BTF) -> List[str]:
    """The kernel's BTF files, vmlinux first, without parsing any (cache keys use them)."""
    vmlinux_path = os.path.join(sysfs, "vmlinux")
    if not os.path.exists(vmlinux_path):
        raise _no_kernel_btf(vmlinux_path)
    try:
        modules = sorted(n for n in os.listdir(sysfs) if n != "vmlinux")
    except OSError:
        modules = []
    return [vmlinux_path] + [os.path.join(sysfs, n) for n in modules]


def _kernel_spec(path: str, base: Optional[Spec] = None) -> Spec:
    """A kernel BTF file's Spec, its index taken from (or saved to) the on-disk cache.

    Kernel BTF is keyed by identity and boot id, so finding the index costs no
    read of the file; any cache problem just means one pass over the types.
    """
    from pybpf import cachedir
    from pybpf.core import cache as disk
    key = None
    index = None
    if cachedir.enabled():
        try:
            key = disk.file_digest(path)
            index = disk.load_index(key)
        except OSError:
            key = None
    spec = Spec.load_file(path, base=base, index=index)
    if key is not None and not spec.index_adopted:
        disk.store_index(key, *spec.index_bytes())
    return spec


def _kernel_vmlinux(sysfs: str) -> Spec:
    """The running kernel's vmlinux Spec (caller holds ``_lock``), without its modules."""
    hit = _vmlinux.get(sysfs)
    if hit is None:
        vmlinux_path = os.path.join(sysfs, "vmlinux")
        if not os.path.exists(vmlinux_path):
            raise _no_kernel_btf(vmlinux_path)
        try:
            hit = _vmlinux[sysfs] = _kernel_spec(vmlinux_path)
        except OSError as exc:
            raise CoreRelocationError(f"{vmlinux_path}: cannot read target BTF: "
                                      f"{exc.strerror}") from None
        except BTFError as exc:
            raise CoreRelocationError(f"{vmlinux_path}: not a usable BTF file: "
                                      f"{exc}") from None
    return hit


def _module_specs(vmlinux: Spec, paths: List[str]) -> Tuple[List[Spec], List[str]]:
    specs, loaded = [], []
    for path in paths:
        try:
            specs.append(_kernel_spec(path, base=vmlinux))
            loaded.append(path)
        except (OSError, BTFError):
            continue  # a module going away, or BTF we cannot read: not a candidate source
    return specs, loaded


def kernel_targets(path: Optional[PathLike] = None, *, sysfs: str = SYSFS_BTF) -> TargetBTF:
    """What relocations search: ``path``'s BTF alone, else the running kernel's with modules.

    Cached per process (per file identity for ``path``). Without ``path`` and
    without kernel BTF, raises CoreRelocationError saying so.
    """
    with _lock:
        if path is not None:
            path = os.fspath(path)
            try:
                st = os.stat(path)
            except OSError as exc:
                raise CoreRelocationError(f"{path}: cannot read target BTF: "
                                          f"{exc.strerror}") from None
            key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
            hit = _files.get(key)
            if hit is None:
                hit = _files[key] = TargetBTF(load_btf_file(path), [], [path])
            return hit
        hit = _kernel.get(sysfs)
        if hit is None:
            files = kernel_files(sysfs)
            vmlinux = _kernel_vmlinux(sysfs)
            modules, mod_paths = _module_specs(vmlinux, files[1:])
            hit = _kernel[sysfs] = TargetBTF(vmlinux, modules, [files[0]] + mod_paths)
        return hit


def kernel_btf(path: Optional[PathLike] = None) -> Spec:
    """The vmlinux Spec relocations target (``path``'s BTF when given); see kernel_targets.

    The running kernel's modules are not opened for it: only CO-RE searches them.
    """
    if path is not None:
        return kernel_targets(path).vmlinux
    with _lock:
        return _kernel_vmlinux(SYSFS_BTF)


def release_kernel_btf() -> None:
    """Forget the target BTF cached for this process (kernel's and by-path files).

    Long-running programs (gadgets) call it once their objects are loaded: the
    next ``kernel_targets`` reopens the file, and its type index comes back from
    the on-disk cache. Specs still referenced elsewhere stay valid; the others'
    mmaps and indexes are freed as soon as nothing uses them.
    """
    with _lock:
        _kernel.clear()
        _vmlinux.clear()
        _files.clear()


#: Where CO-RE looks for target types: None (the running kernel), a BTF or ELF
#: file path, a TargetBTF, a Spec, or Specs (vmlinux first).
Target = Union[None, str, "os.PathLike[str]", TargetBTF, Spec, Sequence[Spec]]


def as_targets(target: Target) -> List[Spec]:
    """A target argument as the list of specs to search (vmlinux first).

    None is the running kernel (vmlinux, then modules), a str/PathLike a BTF
    file, a TargetBTF its specs, a Spec itself, a list/tuple of Specs as given.
    """
    if target is None or isinstance(target, (str, os.PathLike)):
        return kernel_targets(target).specs
    if isinstance(target, TargetBTF):
        return target.specs
    if isinstance(target, Spec):
        return [target]
    return list(target)
