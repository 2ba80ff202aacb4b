"""User-space event filters: ``--filter 'proc.comm=bash'``.

Operators: ``=`` (also ``==``, as ``ig`` users write it) ``!=`` ``<`` ``>``
``<=`` ``>=`` and ``~`` (regular expression, searched). Numbers compare as
numbers when the field holds a number; lists compare against their
space-joined text. Given the gadget's fields, a filter is checked when it is
parsed: the field must exist, and a number field (or a yes/no one) must be
compared with a number (or true/false), so ``proc.pid<abc`` is refused
instead of silently matching nothing.
"""
from __future__ import annotations

import re

from pybpf.records import Record

from .errors import GadgetError
from .gadget import Field, get_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, List, Optional, Union
    Known = Optional[Iterable[Union[str, Field]]]

# compiled on first use (re's cache), not at import: a run without --filter parses none
_EXPR = r"(?s)^\s*([A-Za-z_][\w.]*)\s*(==|!=|<=|>=|=|<|>|~)(.*)$"
_BOOL_WORDS = {"true", "false", "yes", "no", "1", "0"}
_OPS = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


class Filter(Record):
    __slots__ = ("field", "op", "value", "_test")

    field: str
    op: str
    value: str
    _test: Callable[[Any], bool]

    def __init__(
            self,
            field: str,
            op: str,
            value: str,
    ) -> None:
        self.field = field
        self.op = op
        self.value = value
        self._test = self._tester()

    def _tester(self) -> Callable[[Any], bool]:
        """The test of one field's value, made once (a bad regex fails here)."""
        if self.op == "~":
            try:
                rx = re.compile(self.value)
            except re.error as exc:
                raise GadgetError(f"filter {self.field}~{self.value}: bad regex: {exc}") from None
            return lambda v: v is not None and rx.search(_text(v)) is not None
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
        return test

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


def _check_value(expr: str, field: Field, op: str, value: str) -> None:
    """A filter's value against what its field holds; GadgetError when they cannot match."""
    if op == "~":
        return
    if field.type in (int, float):
        if _number(value) is None:
            raise GadgetError(f"filter {expr!r}: {field.name} is a number, not {value!r}")
    elif field.type is bool:
        if value.strip().lower() not in _BOOL_WORDS or op not in ("=", "!="):
            raise GadgetError(f"filter {expr!r}: {field.name} is true or false "
                              "(compare it with = or !=)")


def parse(expr: str, known: Known = None) -> Filter:
    """Parse one ``field OP value``; ``known`` lists the valid fields (Field
    declarations, whose types check the value, or bare names)."""
    m = re.match(_EXPR, expr)
    if not m:
        raise GadgetError(f"bad filter {expr!r}: expected FIELD=VALUE (or == != < > <= >= ~)")
    name, op, value = m.group(1), m.group(2), m.group(3)
    if op == "==":
        op = "="
    if known is not None:
        fields = {(k.name if isinstance(k, Field) else k): k for k in known}
        if name not in fields:
            raise GadgetError(f"filter {expr!r}: unknown field {name!r}")
        declared = fields[name]
        if isinstance(declared, Field):
            _check_value(expr, declared, op, value)
    return Filter(name, op, value)


def parse_all(exprs: Iterable[str], known: Known = None) -> List[Filter]:
    known_list = list(known) if known is not None else None
    return [parse(e, known_list) for e in exprs]


def matches(filters: List[Filter], event: Any) -> bool:
    return all(f(event) for f in filters)
