"""Benchmark profile_cpu's ELF symbol reading against pyelftools' own parse.

    python3 bench/bench_symbolize.py [--repeat N] [FILE...]

For each file (default: this machine's libc and the running Python binary),
reads the function symbols of .symtab and .dynsym twice in the same process:
with ``gadgets.common.symbolize._functions`` (one struct pass) and with
pyelftools' ``iter_symbols`` (the peer, what the gadget used before). Prints
the median CPU time of each, the ratio, and how many functions each finds
(pyelftools names GNU indirect functions STT_LOOS, so a filter on STT_FUNC
and STT_GNU_IFUNC names misses them).
"""
from __future__ import annotations

import argparse
import ctypes.util
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _libc() -> str:
    for base in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib"):
        path = os.path.join(base, "libc.so.6")
        if os.path.exists(path):
            return path
    return ctypes.util.find_library("c") or "/lib/libc.so.6"


def _peer(elf, section) -> List[Tuple[int, int, str]]:
    return [(s["st_value"], s["st_size"], s.name) for s in section.iter_symbols()
            if s["st_info"]["type"] in ("STT_FUNC", "STT_GNU_IFUNC") and s.name
            and s["st_shndx"] != "SHN_UNDEF" and s["st_value"]]


def _ours(elf, section) -> List[Tuple[int, int, str]]:
    from pybpf_gadgets.common.symbolize import _functions
    return list(_functions(elf, section))


def measure(path: str, read: Callable, repeat: int) -> Tuple[float, Set[Tuple[int, int, str]]]:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    times, found = [], set()
    for _ in range(repeat):
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            start = time.process_time()
            found = set()
            for name in (".symtab", ".dynsym"):
                section = elf.get_section_by_name(name)
                if isinstance(section, SymbolTableSection):
                    found.update(read(elf, section))
            times.append(time.process_time() - start)
    return statistics.median(times), found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    try:
        import pybpf_gadgets  # noqa: F401
    except ImportError:
        sys.exit("install the project first (pip install -e .): pybpf_gadgets is its gadgets")
    files = args.files or [_libc(), os.path.realpath(sys.executable)]
    print(f"{'file':<44} {'struct pass':>12} {'pyelftools':>11} {'ratio':>6} "
          f"{'functions':>10} {'peer finds':>10}")
    for path in files:
        ours, mine = measure(path, _ours, args.repeat)
        peer, theirs = measure(path, _peer, args.repeat)
        ratio = peer / ours if ours else float("inf")
        print(f"{path[-44:]:<44} {ours * 1000:>9.1f} ms {peer * 1000:>8.1f} ms {ratio:>5.1f}x "
              f"{len(mine):>10} {len(theirs):>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
