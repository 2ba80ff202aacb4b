"""Installed entry points, found once per installation state rather than on every start.

importlib.metadata finds them by reading every distribution's metadata on
sys.path; importing it and scanning costs tens of milliseconds, which a
gadget's start would pay on every run to find its own name. What it found
is kept in the cache directory (pybpf.cachedir's rules: the directory and
file owned by this user and not writable by others, no links followed, a
keyed MAC) under a key made of the interpreter and of the distributions'
metadata on every sys.path entry (names, inodes, mtimes: a distribution
installed, upgraded or removed changes them); an entry is validated whole,
and anything off means importlib.metadata is asked again and the entry
rewritten.
``PYBPF_NO_CORE_CACHE=1`` (no cache at all) asks importlib.metadata every time.
"""
from __future__ import annotations

import importlib
import json
import os
import sys

try:  # the builtin module: hashlib would also initialise OpenSSL (a few ms at start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - Pythons built without it
    from hashlib import blake2b

from pybpf import cachedir
from pybpf.records import FrozenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

MAGIC = b"PYBPFEP1"
MAX_ENTRY = 1 << 20
_known: Optional[Dict[str, List["EntryPoint"]]] = None


class EntryPoint(FrozenRecord):
    """One entry point: ``value`` is ``module:attr.attr`` (extras in brackets ignored)."""

    __slots__ = ("name", "value", "group")

    name: str
    value: str
    group: str

    def __init__(self, name: str, value: str, group: str) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "group", group)

    def load(self) -> Any:
        module, _, attrs = self.value.split("[", 1)[0].partition(":")
        obj = importlib.import_module(module.strip())
        for attr in filter(None, attrs.strip().split(".")):
            obj = getattr(obj, attr)
        return obj


def entry_points(group: str) -> List[EntryPoint]:
    """The installed entry points of ``group``, one per name (the first found on
    sys.path wins)."""
    global _known
    if _known is None:
        _known = _read()
    return list(_known.get(group, ()))


_METADATA = (".dist-info", ".egg-info", ".egg-link")


def _key() -> str:
    """What the installed entry points depend on: the interpreter, and on each sys.path
    entry the distributions' metadata there (names, inodes, mtimes: installing,
    upgrading or removing one changes them), or the entry itself when it is a file
    (a zipapp). Other files coming and going (a working directory on the path) do not
    change it."""
    h = blake2b(digest_size=20)
    h.update(f"{sys.executable}|{sys.version}\0".encode())
    for path in sys.path:
        h.update(f"{os.path.abspath(path or '.')}\0".encode())
        try:
            with os.scandir(path or ".") as it:
                found = sorted((e.name, e.inode(), e.stat(follow_symlinks=False).st_mtime_ns)
                               for e in it if e.name.endswith(_METADATA))
            h.update(repr(found).encode())
        except NotADirectoryError:
            try:
                st = os.stat(path)
                h.update(f"file|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}\0".encode())
            except OSError:
                h.update(b"-\0")
        except OSError:
            h.update(b"-\0")
    return h.hexdigest()


def _read() -> Dict[str, List[EntryPoint]]:
    if not cachedir.enabled():
        return _scan()
    name = f"entrypoints-{_key()}.json"
    body = cachedir.load_sealed(name, MAGIC, MAX_ENTRY)
    found = _decode(body) if body is not None else None
    if found is None:
        found = _scan()
        text = json.dumps({g: [[e.name, e.value] for e in eps] for g, eps in found.items()})
        cachedir.store_sealed(name, MAGIC, text.encode())
    return found


def _decode(body: Any) -> Optional[Dict[str, List[EntryPoint]]]:
    try:
        doc = json.loads(bytes(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    out: Dict[str, List[EntryPoint]] = {}
    for group, pairs in doc.items():
        if not isinstance(pairs, list):
            return None
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2
                    and all(isinstance(x, str) for x in pair)):
                return None
            out.setdefault(group, []).append(EntryPoint(pair[0], pair[1], group))
    return out


def _scan() -> Dict[str, List[EntryPoint]]:
    """Every entry point importlib.metadata finds, one per (group, name)."""
    import importlib.metadata  # here only: the costly part this module avoids repeating

    found: Any = importlib.metadata.entry_points()  # a dict of lists on 3.9
    if hasattr(found, "select"):  # grouped from 3.10 (SelectableGroups, then EntryPoints)
        listed = [ep for group in sorted(found.groups) for ep in found.select(group=group)]
    else:
        listed = [ep for eps in found.values() for ep in eps]
    out: Dict[str, List[EntryPoint]] = {}
    seen = set()
    for ep in listed:
        if (ep.group, ep.name) not in seen:
            seen.add((ep.group, ep.name))
            out.setdefault(ep.group, []).append(EntryPoint(ep.name, ep.value, ep.group))
    return out
