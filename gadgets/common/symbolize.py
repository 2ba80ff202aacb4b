"""Addresses to function names: kernel (kallsyms) and user space (ELF symbols).

- :class:`KernelSymbols` reads ``/proc/kallsyms`` once into a sorted address
  table and resolves an address with ``bisect``.
- :class:`ElfSymbols` reads the function symbols (``.symtab`` then ``.dynsym``)
  of one ELF file with pyelftools; :func:`elf_symbols` caches them per
  build-id (or per path, size and mtime when the file has none).
- :class:`ProcessSymbols` maps a process's addresses through
  ``/proc/PID/maps`` to a file offset, then to the file's virtual address, and
  resolves it in that file's symbols. Files are opened through the
  process's root (:class:`Roots`: a directory descriptor taken while it
  runs), so processes in other mount namespaces resolve too, and so do
  processes that exited since their maps were read.
- :func:`folded` writes stacks in the folded form flame graph tools read.
"""
from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from elftools.common.exceptions import ELFError as _PyELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from pybpf.errors import ELFError


@dataclass(frozen=True)
class Symbol:
    """A resolved address: function ``name`` plus ``offset``, in ``module``."""

    name: str
    offset: int
    module: str = ""

    def __str__(self) -> str:
        return self.name


class _Table:
    """A sorted address table: starts, sizes (0 = up to the next), names."""

    def __init__(self, entries: Iterable[Tuple[int, int, str]]) -> None:
        rows = sorted(entries)
        self.starts: List[int] = [r[0] for r in rows]
        self.sizes: List[int] = [r[1] for r in rows]
        self.names: List[str] = [r[2] for r in rows]

    def __len__(self) -> int:
        return len(self.starts)

    def lookup(self, addr: int) -> Optional[Tuple[str, int]]:
        i = bisect.bisect_right(self.starts, addr) - 1
        if i < 0:
            return None
        # Prefer a sized symbol that covers addr among equal-start aliases.
        start, size = self.starts[i], self.sizes[i]
        if size and addr >= start + size:
            return None
        return self.names[i], addr - start


class KernelSymbols:
    """Kernel text symbols from a kallsyms listing, searched by address."""

    def __init__(self, text: str) -> None:
        entries = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 3 or parts[1] not in "tTwW":
                continue
            addr = int(parts[0], 16)
            if addr == 0:
                continue  # kptr_restrict hides the addresses: nothing to resolve
            name = parts[2]
            if len(parts) > 3:
                name = f"{name} {parts[3]}"  # module name, "[mod]"
            entries.append((addr, 0, name))
        self._table = _Table(entries)

    @classmethod
    def load(cls, path: str = "/proc/kallsyms") -> "KernelSymbols":
        with open(path) as fh:
            return cls(fh.read())

    def __len__(self) -> int:
        return len(self._table)

    def resolve(self, addr: int) -> Optional[Symbol]:
        hit = self._table.lookup(addr)
        if hit is None:
            return None
        return Symbol(hit[0], hit[1], "kernel")


DEBUG_ROOT = "/usr/lib/debug"


def _read_elf(path: str, segments_too: bool) -> Tuple[List[Tuple[int, int, int]],
                                                       Dict[Tuple[int, str], int],
                                                       Optional[str], bool]:
    """(executable PT_LOADs, {(addr, name): size} of functions, build-id, has .symtab)."""
    try:
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            segments = [(s["p_offset"], s["p_vaddr"], s["p_filesz"])
                        for s in elf.iter_segments()
                        if s["p_type"] == "PT_LOAD"] if segments_too else []
            entries: Dict[Tuple[int, str], int] = {}
            has_symtab = False
            for name in (".symtab", ".dynsym"):
                section = elf.get_section_by_name(name)
                if not isinstance(section, SymbolTableSection):
                    continue  # absent, or SHT_NOBITS in a separate debug file
                has_symtab = has_symtab or name == ".symtab"
                for value, size, sym_name in _functions(elf, section):
                    entries.setdefault((value, sym_name), size)
            return segments, entries, _build_id(elf), has_symtab
    except _PyELFError as exc:
        raise ELFError(f"{path}: not a readable ELF file: {exc}") from exc


_ELF64_SYM = struct.Struct("<IBBHQQ")  # st_name, st_info, st_other, st_shndx, st_value, st_size
_FUNCTION_TYPES = (2, 10)  # STT_FUNC, STT_GNU_IFUNC


def _functions(elf: ELFFile, section: SymbolTableSection) -> Iterator[Tuple[int, int, str]]:
    """(address, size, name) of the defined functions of a symbol table. A
    64-bit little-endian table is read with one struct pass (pyelftools takes
    seconds over the tens of thousands of symbols of a large binary)."""
    if not (elf.elfclass == 64 and elf.little_endian
            and section["sh_entsize"] == _ELF64_SYM.size):
        for sym in section.iter_symbols():
            if (sym["st_info"]["type"] in ("STT_FUNC", "STT_GNU_IFUNC") and sym.name
                    and sym["st_shndx"] != "SHN_UNDEF" and sym["st_value"]):
                yield sym["st_value"], sym["st_size"], sym.name
        return
    data = section.data()
    names = elf.get_section(section["sh_link"]).data()
    usable = len(data) - len(data) % _ELF64_SYM.size
    for st_name, info, _, shndx, value, size in _ELF64_SYM.iter_unpack(data[:usable]):
        if info & 0xF not in _FUNCTION_TYPES or not shndx or not value or not st_name:
            continue
        end = names.find(b"\0", st_name)
        yield value, size, names[st_name: end if end >= 0 else len(names)].decode(
            "utf-8", "replace")


def _build_id(elf: ELFFile) -> Optional[str]:
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_NOTE":
            continue
        for note in section.iter_notes():
            if note["n_type"] == "NT_GNU_BUILD_ID":
                return str(note["n_desc"])
    return None


@dataclass
class ElfSymbols:
    """Function symbols and load segments of one ELF file."""

    path: str
    build_id: Optional[str]
    table: _Table
    # (p_offset, p_vaddr, p_filesz) of every executable PT_LOAD
    segments: List[Tuple[int, int, int]] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: str, debug_root: str = DEBUG_ROOT) -> "ElfSymbols":
        """Symbols of ``path``; a stripped file also gets those of its separate
        debug file (``DEBUG_ROOT/.build-id/xx/yyyy.debug``) when one is installed."""
        segments, entries, build_id, has_symtab = _read_elf(path, True)
        if not has_symtab and build_id and len(build_id) > 2:
            debug = os.path.join(debug_root, ".build-id", build_id[:2], build_id[2:] + ".debug")
            if os.path.exists(debug):
                _, extra, _, _ = _read_elf(debug, False)
                for key, size in extra.items():
                    entries.setdefault(key, size)
        table = _Table((addr, size, name) for (addr, name), size in entries.items())
        return cls(path, build_id, table, segments)

    def file_offset_to_vaddr(self, offset: int) -> Optional[int]:
        for p_offset, p_vaddr, p_filesz in self.segments:
            if p_offset <= offset < p_offset + p_filesz:
                return offset - p_offset + p_vaddr
        return None

    def resolve_vaddr(self, vaddr: int) -> Optional[Symbol]:
        hit = self.table.lookup(vaddr)
        if hit is None:
            return None
        return Symbol(hit[0], hit[1], os.path.basename(self.path))


_BY_BUILD_ID: Dict[str, ElfSymbols] = {}
_BY_FILE: Dict[Tuple[str, int, int, int], ElfSymbols] = {}


def elf_symbols(path: str) -> ElfSymbols:
    """The symbols of ``path``, cached per build-id (or path, size, mtime, inode)."""
    st = os.stat(path)
    file_key = (path, st.st_size, int(st.st_mtime_ns), st.st_ino)
    cached = _BY_FILE.get(file_key)
    if cached is not None:
        return cached
    syms = ElfSymbols.from_file(path)
    if syms.build_id:
        # Same build-id, same symbols: share the one parsed table.
        syms = _BY_BUILD_ID.setdefault(syms.build_id, syms)
    _BY_FILE[file_key] = syms
    return syms


@dataclass(frozen=True)
class Mapping:
    """One line of /proc/PID/maps that maps a file executable."""

    start: int
    end: int
    offset: int
    path: str


def parse_maps(text: str) -> List[Mapping]:
    """The executable file-backed mappings of a /proc/PID/maps listing."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or "x" not in parts[1]:
            continue
        path = parts[5].strip()
        if not path.startswith("/"):
            continue  # [vdso], [stack], anonymous memory
        if path.endswith(" (deleted)"):
            path = path[: -len(" (deleted)")]
        lo, hi = parts[0].split("-")
        out.append(Mapping(int(lo, 16), int(hi, 16), int(parts[2], 16), path))
    out.sort(key=lambda m: m.start)
    return out


class Roots:
    """Open root directories of processes (O_PATH descriptors), one per
    distinct root: a process's files stay reachable through its root after
    it exits, as long as this holds the directory. ``close()`` lets them go."""

    def __init__(self) -> None:
        self._fds: Dict[Tuple[int, int], int] = {}

    def of(self, pid: int) -> str:
        """A path naming ``pid``'s root directory for as long as this is open
        (raises OSError when the process is gone)."""
        fd = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY)
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        kept = self._fds.get(key)
        if kept is None:
            self._fds[key] = kept = fd
        else:
            os.close(fd)
        return f"/proc/self/fd/{kept}"

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


class ProcessSymbols:
    """User-space symbols of one process, from its maps and its binaries' ELF symbols."""

    def __init__(self, pid: int, maps: Sequence[Mapping], root: str) -> None:
        self.pid = pid
        self.maps = list(maps)
        self._starts = [m.start for m in self.maps]
        self.root = root
        self._files: Dict[str, Optional[ElfSymbols]] = {}

    @classmethod
    def for_pid(cls, pid: int, roots: Optional[Roots] = None) -> "ProcessSymbols":
        """Read /proc/PID/maps now (raises OSError when the process is gone);
        files are opened through ``roots`` (held open) when given, else
        through /proc/PID/root (while the process lives)."""
        root = roots.of(pid) if roots is not None else f"/proc/{pid}/root"
        with open(f"/proc/{pid}/maps") as fh:
            maps = parse_maps(fh.read())
        return cls(pid, maps, root)

    def _symbols(self, path: str) -> Optional[ElfSymbols]:
        if path not in self._files:
            try:
                self._files[path] = elf_symbols(self.root + path)
            except (OSError, ELFError):
                self._files[path] = None
        return self._files[path]

    def resolve(self, addr: int) -> Optional[Symbol]:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i < 0 or addr >= self.maps[i].end:
            return None
        mapping = self.maps[i]
        syms = self._symbols(mapping.path)
        module = os.path.basename(mapping.path)
        if syms is None:
            return Symbol(f"[{module}+{addr - mapping.start + mapping.offset:#x}]", 0, module)
        vaddr = syms.file_offset_to_vaddr(addr - mapping.start + mapping.offset)
        sym = syms.resolve_vaddr(vaddr) if vaddr is not None else None
        if sym is None:
            return Symbol(f"[{module}+{addr - mapping.start + mapping.offset:#x}]", 0, module)
        return sym


class Symbolizer:
    """Kernel and per-process symbols together, loaded on first use; it holds
    the roots of the processes remembered until ``close()``."""

    def __init__(self, kallsyms: str = "/proc/kallsyms") -> None:
        self._kallsyms = kallsyms
        self._kernel: Optional[KernelSymbols] = None
        self._procs: Dict[int, Optional[ProcessSymbols]] = {}
        self._roots = Roots()

    def close(self) -> None:
        """Let go of the processes' roots (their symbols read so far stay)."""
        self._roots.close()

    def kernel(self, addr: int) -> str:
        if self._kernel is None:
            self._kernel = KernelSymbols.load(self._kallsyms)
        sym = self._kernel.resolve(addr)
        return sym.name if sym else f"{addr:#x}"

    def remember(self, pid: int) -> None:
        """Read a process's maps now, while it still runs (later lookups reuse them)."""
        if pid not in self._procs:
            try:
                self._procs[pid] = ProcessSymbols.for_pid(pid, self._roots)
            except OSError:
                self._procs[pid] = None

    def user(self, pid: int, addr: int) -> str:
        self.remember(pid)
        proc = self._procs[pid]
        sym = proc.resolve(addr) if proc is not None else None
        return sym.name if sym else f"{addr:#x}"


def folded(stacks: Iterable[Tuple[str, Sequence[str], Sequence[str], int]]) -> List[str]:
    """Folded-stack lines (``comm;outer;...;leaf count``) for flame graph tools.

    Each stack is ``(comm, user_frames, kernel_frames, count)`` with frames leaf
    first, as bpf_get_stackid stores them. Kernel frames go above the user
    frames and carry a ``_[k]`` suffix; equal stacks are summed; lines sorted.
    """
    totals: Dict[str, int] = {}
    for comm, user, kernel, count in stacks:
        frames = [comm.replace(";", "_").replace(" ", "_") or "[unknown]"]
        frames += [f.replace(";", "_") for f in reversed(user)]
        frames += [f.replace(";", "_") + "_[k]" for f in reversed(kernel)]
        line = ";".join(frames)
        totals[line] = totals.get(line, 0) + count
    return [f"{line} {count}" for line, count in sorted(totals.items())]
