"""User-space event filters: ``--filter 'proc.comm=bash'``.

Operators: ``=`` ``!=`` ``<`` ``>`` ``<=`` ``>=`` and ``~`` (regular
expression, searched). Numbers compare as numbers when the field holds a
number; lists compare against their space-joined text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional

from .errors import GadgetError

_EXPR = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(!=|<=|>=|=|<|>|~)(.*)$", re.S)
_OPS = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


def get_path(event: Any, path: str) -> Any:
    """``event["proc"]["comm"]`` for "proc.comm"; None when absent."""
    value = event
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


@dataclass
class Filter:
    field: str
    op: str
    value: str
    _test: Callable[[Any], bool] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.op == "~":
            try:
                rx = re.compile(self.value)
            except re.error as exc:
                raise GadgetError(f"filter {self.field}~{self.value}: bad regex: {exc}") from None
            self._test = lambda v: v is not None and rx.search(_text(v)) is not None
            return
        op = _OPS[self.op]
        num = _number(self.value)

        def test(v: Any) -> bool:
            if v is None:
                return self.op == "!="
            if isinstance(v, bool):
                return op(str(v).lower(), self.value.lower())
            if isinstance(v, (int, float)):
                if num is None:
                    return False
                return op(v, num)
            return op(_text(v), self.value)
        self._test = test

    def __call__(self, event: Any) -> bool:
        return self._test(get_path(event, self.field))


def _number(text: str) -> Optional[float]:
    try:
        return int(text, 0)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _text(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return " ".join(map(str, v))
    return str(v)


def parse(expr: str, known: Optional[Iterable[str]] = None) -> Filter:
    """Parse one ``field OP value``; ``known`` lists the valid field names."""
    m = _EXPR.match(expr)
    if not m:
        raise GadgetError(f"bad filter {expr!r}: expected FIELD=VALUE (or != < > <= >= ~)")
    field, op, value = m.group(1), m.group(2), m.group(3)
    if known is not None and field not in set(known):
        raise GadgetError(f"filter {expr!r}: unknown field {field!r}")
    return Filter(field, op, value)


def parse_all(exprs: Iterable[str], known: Optional[Iterable[str]] = None) -> List[Filter]:
    known_list = list(known) if known is not None else None
    return [parse(e, known_list) for e in exprs]


def matches(filters: List[Filter], event: Any) -> bool:
    return all(f(event) for f in filters)
