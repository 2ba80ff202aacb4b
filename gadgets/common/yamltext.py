"""YAML text of events and rows (``-o yaml``), written here with no dependency.

An event is a tree of dicts, lists and scalars, so a small subset of YAML is
enough: one document per event (``---`` then a block mapping), nested dicts
as indented block mappings, lists as block sequences (``[]`` and ``{}`` when
empty). Every string is double-quoted with YAML's escapes, so no text can be
read back as a number, a boolean or null (``"no"``, ``"0x10"``); keys are
quoted unless they are plain words. Numbers, booleans and null are written as
YAML 1.1 and 1.2 readers both take them (a float always has a dot).
"""
from __future__ import annotations

import functools
import math
import re
from typing import Any, List

# what YAML lets stand in a double-quoted scalar; the rest is escaped
_UNSAFE = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# words a YAML 1.1 reader takes for booleans or null, even as keys
_RESERVED = frozenset(("y", "n", "yes", "no", "on", "off", "true", "false", "null"))


def _escape(match: "re.Match[str]") -> str:
    ch = match.group()
    known = _ESCAPES.get(ch)
    if known is not None:
        return known
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar."""
    return '"' + _UNSAFE.sub(_escape, text) + '"'


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text and "." not in text:  # 1e-05 -> 1.0e-05 (YAML 1.1 wants the dot)
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def scalar(value: Any) -> str:
    """One value that is not a non-empty dict or list."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, (list, tuple)):
        return "[]"
    return quoted(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=1024)  # the same few keys in every event
def _key(key: Any) -> str:
    text = str(key)
    if _PLAIN_KEY.match(text) and text.lower() not in _RESERVED:
        return text
    return quoted(text)


def _nested(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple)) and bool(value)


def _entry(lead: str, item: Any, indent: int, out: List[str]) -> None:
    """``lead`` (``key:`` or ``-``) then the item: a scalar on the same line,
    a nested block on the lines below, indented once more."""
    if _nested(item):
        out.append(lead + "\n")
        _block(item, indent + 2, out)
    else:
        out.append(f"{lead} {scalar(item)}\n")


def _mapping(value: dict, indent: int, out: List[str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        _entry(f"{pad}{_key(key)}:", item, indent, out)


def _sequence(value: Any, indent: int, out: List[str]) -> None:
    pad = " " * indent
    for item in value:
        if isinstance(item, dict) and item:
            inner: List[str] = []
            _mapping(item, indent + 2, inner)
            inner[0] = pad + "- " + inner[0][indent + 2:]  # the first key on the dash's line
            out.extend(inner)
        else:
            _entry(f"{pad}-", item, indent, out)


def _block(value: Any, indent: int, out: List[str]) -> None:
    if isinstance(value, dict):
        _mapping(value, indent, out)
    else:
        _sequence(value, indent, out)


def document(value: Any) -> str:
    """One YAML document (``---`` first, a newline last) holding ``value``."""
    if not _nested(value):
        return f"--- {scalar(value)}\n"
    out = ["---\n"]
    _block(value, 0, out)
    return "".join(out)
