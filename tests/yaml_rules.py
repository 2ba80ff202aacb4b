"""A strict reader of the YAML subset `-o yaml` writes, for tests where no YAML
library is installed (tests also parse with PyYAML when it is).

It follows YAML's rules for what it accepts and refuses the rest: documents
start with ``---``; block mappings and sequences nest by indentation;
strings must be double-quoted (YAML escapes \\" \\\\ \\t \\n \\r \\0 \\xXX
\\uXXXX \\UXXXXXXXX); a plain scalar must be a number, true, false, null,
.nan, .inf, {} or []. Anything else is a ValueError naming the line.
"""
from __future__ import annotations

import re
from typing import Any, List, Tuple

_ESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|["\\tnr0/ ])')
_SIMPLE = {'"': '"', "\\": "\\", "t": "\t", "n": "\n", "r": "\r", "0": "\0", "/": "/", " ": " "}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\Z")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

Line = Tuple[int, str, int]  # indent, text, line number


def _unescape(match: "re.Match[str]") -> str:
    code = match.group(1)
    if code in _SIMPLE:
        return _SIMPLE[code]
    return chr(int(code[1:], 16))


def _quoted_end(text: str, where: int) -> int:
    """Index just past the double-quoted scalar starting at text[0]."""
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    raise ValueError(f"line {where}: unterminated string")


def scalar(text: str, where: int = 0) -> Any:
    if text.startswith('"'):
        end = _quoted_end(text, where)
        if end != len(text):
            raise ValueError(f"line {where}: text after a string: {text!r}")
        body = text[1:-1]
        if "\\" in _ESCAPE.sub("", body):
            raise ValueError(f"line {where}: unknown escape in {text!r}")
        return _ESCAPE.sub(_unescape, body)
    fixed = {"null": None, "true": True, "false": False, "{}": {}, "[]": [],
             ".nan": float("nan"), ".inf": float("inf"), "-.inf": float("-inf")}
    if text in fixed:
        return fixed[text]
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    raise ValueError(f"line {where}: unquoted text {text!r} (a YAML reader may take it "
                     "for another type)")


def _key_split(text: str, where: int) -> Tuple[Any, str]:
    """``key: rest`` -> (key, rest); rest is "" for ``key:``."""
    if text.startswith('"'):
        end = _quoted_end(text, where)
        key, rest = scalar(text[:end], where), text[end:]
    else:
        colon = text.find(":")
        if colon < 0 or not _KEY.match(text[:colon]):
            raise ValueError(f"line {where}: not a key: {text!r}")
        key, rest = text[:colon], text[colon:]
        if key.lower() in ("y", "n", "yes", "no", "on", "off", "true", "false", "null"):
            raise ValueError(f"line {where}: unquoted key {key!r} reads as a boolean or null")
    if rest == ":":
        return key, ""
    if not rest.startswith(": ") or len(rest) < 3:
        raise ValueError(f"line {where}: expected ': ' after the key in {text!r}")
    return key, rest[2:]


def _is_key(text: str) -> bool:
    if text.startswith('"'):
        try:
            end = _quoted_end(text, 0)
        except ValueError:
            return False
        return text[end:end + 1] == ":"
    colon = text.find(":")
    return colon > 0 and bool(_KEY.match(text[:colon]))


def _block(lines: List[Line], i: int, indent: int) -> Tuple[Any, int]:
    if lines[i][1].startswith("-") and lines[i][1][:2] in ("- ", "-"):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _child(lines: List[Line], i: int, indent: int, where: int) -> Tuple[Any, int]:
    if i >= len(lines) or lines[i][0] <= indent:
        raise ValueError(f"line {where}: nothing nested under it")
    return _block(lines, i, lines[i][0])


def _mapping(lines: List[Line], i: int, indent: int) -> Tuple[dict, int]:
    out: dict = {}
    while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("-"):
        _, text, where = lines[i]
        key, rest = _key_split(text, where)
        if key in out:
            raise ValueError(f"line {where}: key {key!r} repeated")
        if rest:
            out[key], i = scalar(rest, where), i + 1
        else:
            out[key], i = _child(lines, i + 1, indent, where)
    if i < len(lines) and lines[i][0] > indent:
        raise ValueError(f"line {lines[i][2]}: unexpected indentation")
    return out, i


def _sequence(lines: List[Line], i: int, indent: int) -> Tuple[list, int]:
    out: list = []
    while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
        _, text, where = lines[i]
        if text == "-":
            item, i = _child(lines, i + 1, indent, where)
        elif text.startswith("- "):
            rest = text[2:]
            if _is_key(rest):  # a mapping whose first key shares the dash's line
                lines[i] = (indent + 2, rest, where)
                item, i = _mapping(lines, i, indent + 2)
            else:
                item, i = scalar(rest, where), i + 1
        else:
            raise ValueError(f"line {where}: expected '- ' in {text!r}")
        out.append(item)
    return out, i


def documents(text: str) -> List[Any]:
    """Every document of ``text``."""
    if not text.endswith("\n"):
        raise ValueError("the text does not end with a newline")
    docs: List[List[Line]] = []
    heads: List[str] = []
    for number, raw in enumerate(text.split("\n")[:-1], 1):
        if raw.startswith("---"):
            if raw not in ("---",) and not raw.startswith("--- "):
                raise ValueError(f"line {number}: bad document start {raw!r}")
            docs.append([])
            heads.append(raw[4:])
            continue
        if not docs:
            raise ValueError(f"line {number}: text before the first ---")
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ValueError(f"line {number}: a tab in the indentation")
        stripped = raw.lstrip(" ")
        if not stripped:
            raise ValueError(f"line {number}: empty line")
        docs[-1].append((len(raw) - len(stripped), stripped, number))
    out = []
    for head, lines in zip(heads, docs):
        if head:
            if lines:
                raise ValueError(f"line {lines[0][2]}: text after a one-line document")
            out.append(scalar(head))
            continue
        if not lines or lines[0][0] != 0:
            raise ValueError("a document must start at column 0")
        value, end = _block(lines, 0, 0)
        if end != len(lines):
            raise ValueError(f"line {lines[end][2]}: not part of the document")
        out.append(value)
    return out
