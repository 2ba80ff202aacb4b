"""The possible-CPU set, which sizes per-CPU map values and perf event arrays."""
from __future__ import annotations

from functools import lru_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Tuple

POSSIBLE = "/sys/devices/system/cpu/possible"


def parse_cpu_list(text: str) -> List[int]:
    """CPU numbers of a kernel cpu list such as ``"0-3,8,10-11"``."""
    cpus: List[int] = []
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    return cpus


@lru_cache(maxsize=None)
def possible_cpus() -> Tuple[int, ...]:
    """The CPUs in /sys/devices/system/cpu/possible (read once)."""
    with open(POSSIBLE) as fh:
        return tuple(parse_cpu_list(fh.read()))


def num_possible_cpus() -> int:
    """How many slots a per-CPU map value has: the highest possible CPU + 1."""
    cpus = possible_cpus()
    return max(cpus) + 1 if cpus else 1
