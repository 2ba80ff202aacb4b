"""Where a uprobe goes: resolve a binary name to a path and a symbol to its
file offset, as the kernel's uprobe API wants (``path`` + offset in file).

A function symbol is looked up in ``.symtab`` then ``.dynsym`` (defined
STT_FUNC/STT_GNU_IFUNC symbols; ``name@VERSION`` matches ``name``); its
virtual address is translated through the section holding it:
``offset = st_value - sh_addr + sh_offset``.
"""
from __future__ import annotations

import fnmatch
import os

from pybpf.errors import MissingHookError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, Tuple

    from elftools.elf.elffile import ELFFile

_LIB_DIRS = {
    "x86_64": ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"],
    "aarch64": ["/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64"],
}
_FUNC_TYPES = ("STT_FUNC", "STT_GNU_IFUNC")


def resolve_binary(binary: str) -> str:
    """An absolute path: ``binary`` if it has a slash, else a library
    (``*.so*``) from the usual library directories or a program from $PATH."""
    if "/" in binary:
        path = os.path.abspath(binary)
        if not os.path.isfile(path):
            raise MissingHookError(f"uprobe binary {binary!r} does not exist")
        return path
    if ".so" in binary:
        dirs = _LIB_DIRS.get(os.uname().machine, []) + ["/lib", "/usr/lib", "/usr/local/lib"]
    else:
        dirs = os.environ.get("PATH", "/usr/bin:/bin").split(":")
    for directory in dirs:
        path = os.path.join(directory, binary)
        if os.path.isfile(path):
            return os.path.realpath(path)
    raise MissingHookError(f"uprobe binary {binary!r} not found in {':'.join(dirs)}")


def split_symbol(spec: str) -> Tuple[str, int]:
    """``"func+0x10"`` -> ("func", 16); ``"func"`` -> ("func", 0)."""
    name, plus, off = spec.partition("+")
    return name, (int(off, 0) if plus else 0)


def symbol_offset(path: str, symbol: str) -> int:
    """File offset of function ``symbol`` in the ELF file at ``path``."""
    found = _scan(path, lambda name: name == symbol, first=True)
    if not found:
        raise MissingHookError(f"uprobe symbol {symbol!r} not found in {path}")
    return found[symbol]


def function_offsets(path: str, pattern: str) -> Dict[str, int]:
    """File offsets of the functions in ``path`` whose names match glob ``pattern``."""
    return _scan(path, lambda name: fnmatch.fnmatchcase(name, pattern), first=False)


def _scan(path: str, wanted: Callable[[str], bool], first: bool) -> Dict[str, int]:
    # here, not at the top: pyelftools costs ~26 ms to import and only uprobes need it here
    from elftools.common.exceptions import ELFError as PyELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as fh:
            return _functions(ELFFile(fh), wanted, first)
    except (OSError, PyELFError) as exc:
        raise MissingHookError(f"uprobe binary {path!r}: cannot read ELF ({exc})") from None


def _functions(elf: ELFFile, wanted: Callable[[str], bool], first: bool) -> Dict[str, int]:
    from elftools.elf.sections import SymbolTableSection

    found: Dict[str, int] = {}
    for table_name in (".symtab", ".dynsym"):
        table = elf.get_section_by_name(table_name)
        if not isinstance(table, SymbolTableSection):
            continue
        for sym in table.iter_symbols():
            name = sym.name.split("@", 1)[0]
            if not name or name in found or not wanted(name):
                continue
            if sym["st_info"]["type"] not in _FUNC_TYPES:
                continue
            shndx = sym["st_shndx"]
            if not isinstance(shndx, int) or sym["st_value"] == 0:
                continue  # undefined (SHN_UNDEF) or special section index
            section = elf.get_section(shndx)
            found[name] = sym["st_value"] - section["sh_addr"] + section["sh_offset"]
            if first:
                return found
    return found
