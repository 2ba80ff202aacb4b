"""The options every gadget session takes, and the parsers that check values.

One table (:data:`SESSION_OPTIONS`) serves both forms of a gadget: the
command line (``pybpf run GADGET --pid 42``, built from it by gadgets.cli)
and the library (``trace_exec.run(pid=42)``, checked by the session with the
same parsers). A parser takes text (from the command line) or a Python
value (from the library), returns the value the session uses, and raises
GadgetError naming the option when the value is out of range, so
``--interval 0``, ``--timeout nan`` or ``--ring-size 1T`` are refused before
anything is loaded. Gadget parameters (common.gadget.Param) use these parsers
too. A new session-wide option (a container selector, say) is one more
:class:`Option` here plus the session code that reads it.
"""
from __future__ import annotations

import os
import re

from pybpf.records import FrozenRecord

from .errors import GadgetError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, Tuple
    Parser = Callable[[Any], Any]


# patterns compiled on first use (re's cache), not at import: most starts parse neither
_DURATION = r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|m|h)?\s*$"
_UNITS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "h": 3600.0}
_SIZE = r"(?i)^\s*([0-9]+)\s*([KMGT]i?B?|B)?\s*$"
_SIZE_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

_INFINITY = float("inf")  # (math, an extension module to load, for isfinite alone)
ID_MAX = (1 << 32) - 2  # pid/uid/gid: u32, and -1 (4294967295) means "none" to the kernel
RINGBUF_MAX = 1 << 31   # BPF_MAP_TYPE_RINGBUF: a power of two that fits max_entries (u32)


def _option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def duration(name: str, minimum: float = 0.0) -> Parser:
    """A parser of durations in seconds: ``1.5``, ``1s``, ``500ms``, ``2m``, ``1h``;
    finite and more than ``minimum``."""
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise GadgetError(f"{_option_name(name)} {value!r}: expected a duration")
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            m = re.match(_DURATION, str(value))
            if not m:
                raise GadgetError(f"{_option_name(name)} {value!r}: expected a duration "
                                  "(seconds, or with a unit: 500ms, 1s, 2m)")
            seconds = float(m.group(1)) * _UNITS[m.group(2)]
        if not abs(seconds) < _INFINITY or seconds <= minimum:  # nan and inf refused
            floor = f"{minimum * 1000:g} ms" if minimum < 1 else f"{minimum:g} s"
            raise GadgetError(f"{_option_name(name)} {value!r}: must be more than {floor}")
        return seconds
    parse.__name__ = "duration"
    return parse


def integer(name: str, low: int, high: int) -> Parser:
    """A parser of whole numbers in ``[low, high]`` (decimal, or 0x.. hex)."""
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise GadgetError(f"{_option_name(name)} {value!r}: expected a number")
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip(), 0)
            except ValueError:
                raise GadgetError(f"{_option_name(name)} {value!r}: expected a whole number")\
                    from None
        if not low <= number <= high:
            raise GadgetError(f"{_option_name(name)} {number}: must be between {low} and {high}")
        return number
    parse.__name__ = "integer"
    return parse


def choice(name: str, choices: Tuple[str, ...]) -> Parser:
    """A parser of one word of ``choices`` (case-insensitive)."""
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            words = [c for c in choices if c]
            expected = " or ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1
                                   else words)
            raise GadgetError(f"{_option_name(name)} {value!r}: expected {expected}")
        return text
    parse.__name__ = "choice"
    return parse


def flag(value: Any) -> bool:
    """A yes/no parameter: True/False, or the words true/false, yes/no, 1/0."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise GadgetError(f"{value!r}: expected true or false")


def text(value: Any) -> str:
    return str(value)


def comm(value: Any) -> str:
    """A command name: at most 15 bytes (the kernel's TASK_COMM_LEN less its NUL)."""
    name = str(value)
    if len(name.encode()) > 15:
        raise GadgetError(f"--comm {name!r}: a command name has at most 15 bytes")
    return name


def ring_size(value: Any) -> int:
    """A BPF ring buffer size: bytes, or with K/M/G; a power of two from one page
    up to 2 GiB (what BPF_MAP_CREATE accepts)."""
    page = os.sysconf("SC_PAGE_SIZE")
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        m = re.match(_SIZE, str(value))
        if not m:
            raise GadgetError(f"--ring-size {value!r}: expected bytes (4096) or a size "
                              "with K, M or G (256K, 8M)")
        size = int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "")[:1].upper()]
    if size < page or size > RINGBUF_MAX or size & (size - 1):
        raise GadgetError(f"--ring-size {value}: must be a power of two from {page} bytes "
                          f"(one page) to 2G")
    return size


def runtimes(value: Any) -> frozenset:
    """Container runtime names, comma-separated (docker,containerd,...)."""
    from .containers import ContainerFilter
    words = value if isinstance(value, (list, tuple, set, frozenset)) else str(value).split(",")
    return frozenset(ContainerFilter.parse(runtimes=",".join(words)).runtimes or ())


def selector(value: Any) -> dict:
    """Kubernetes label selector: key=value[,key=value] (all must match)."""
    from .containers import ContainerFilter
    if isinstance(value, dict):
        value = ",".join(f"{k}={v}" for k, v in value.items())
    return ContainerFilter.parse(selector=str(value)).selector


class Option(FrozenRecord):
    """One option of every gadget session: its keyword (``pid``), help, parser
    and default; ``repeat`` collects a list (``-c a -c b``), ``switch`` is a
    flag without a value; ``categories`` limits it to some kinds of gadget."""

    __slots__ = ("name", "help", "parse", "default", "repeat", "switch", "short", "metavar",
                 "categories", "cli")

    name: str
    help: str
    parse: Parser
    default: Any
    repeat: bool
    switch: bool
    short: Optional[str]
    metavar: Optional[str]
    categories: Tuple[str, ...]
    cli: Optional[str]  # the command line's spelling, when not --NAME

    def __init__(
            self,
            name: str,
            help: str,
            parse: Parser = text,
            default: Any = None,
            repeat: bool = False,
            switch: bool = False,
            short: Optional[str] = None,
            metavar: Optional[str] = None,
            categories: Tuple[str, ...] = (),
            cli: Optional[str] = None,
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "help", help)
        object.__setattr__(self, "parse", parse)
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "repeat", repeat)
        object.__setattr__(self, "switch", switch)
        object.__setattr__(self, "short", short)
        object.__setattr__(self, "metavar", metavar)
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "cli", cli)

    @property
    def option(self) -> str:
        return self.cli or _option_name(self.name)

    def applies_to(self, category: str) -> bool:
        return not self.categories or category in self.categories


SESSION_OPTIONS: Tuple[Option, ...] = (
    Option("container", "only this container (name, id, unique id prefix, cgroup path or mntns "
           "id; repeatable; one not running yet is followed once it starts)",
           repeat=True, short="-c", metavar="NAME"),
    Option("runtimes", "only containers of these runtimes (docker,containerd,cri-o,podman,cgroup)",
           runtimes, metavar="LIST"),
    Option("k8s_namespace", "only pods of this Kubernetes namespace", metavar="NS"),
    Option("k8s_podname", "only this Kubernetes pod", metavar="POD"),
    Option("k8s_containername", "only containers of this name in their pod", metavar="NAME"),
    Option("k8s_selector", "only pods with these labels (key=value[,key=value])", selector,
           metavar="K=V"),
    Option("host", "everything on the host (the default)", flag, False, switch=True),
    Option("pid", "only this pid (filtered in the kernel)", integer("pid", 0, ID_MAX)),
    Option("tid", "only this tid (filtered in the kernel)", integer("tid", 0, ID_MAX)),
    Option("uid", "only this uid (filtered in the kernel)", integer("uid", 0, ID_MAX)),
    Option("gid", "only this gid (filtered in the kernel)", integer("gid", 0, ID_MAX)),
    Option("comm", "only this command name (filtered in the kernel)", comm),
    Option("filters", "field=value, ==, !=, <, >, <=, >=, ~regex (repeatable, all must match)",
           repeat=True, metavar="EXPR", cli="--filter"),
    Option("timeout", "stop after this long (seconds, or 500ms, 10s, 2m)",
           duration("timeout"), metavar="DURATION"),
    Option("ring_size", "ring buffer size, a power of two (bytes, or 256K, 8M; "
           "default: the gadget's)", ring_size, metavar="BYTES", categories=("trace",)),
)

#: Options of how `pybpf run` shows a session, not of the session itself:
#: BCC's time columns for trace gadgets, ig's --max-entries for the rows a
#: profile or snapshot prints (a top gadget's is its --max-rows parameter,
#: which takes --max-entries too).
DISPLAY_OPTIONS: Tuple[Option, ...] = (
    Option("time", "a TIME column first: local time, HH:MM:SS (as BCC's -T)", flag, False,
           switch=True, short="-T", categories=("trace",)),
    Option("timestamp", "a TIME(s) column first: seconds since the start (as BCC's -t)", flag,
           False, switch=True, short="-t", categories=("trace",)),
    Option("max_entries", "print at most N rows, the first in the gadget's order (0: all)",
           integer("max_entries", 0, 1 << 31), None, metavar="N",
           categories=("profile", "snapshot")),
)
