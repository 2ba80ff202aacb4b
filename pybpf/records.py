"""Plain record classes: equality, repr, hashing and ``replace`` from ``__slots__``.

Records that a warm start builds or declares (specs of a prepared object,
syscall results, gadget declarations) are written as plain classes with
``__slots__`` and an explicit ``__init__`` on top of this base, not as
dataclasses: the dataclasses module imports inspect and ast, and each
decorated class execs generated code when its module is imported, which
together cost tens of milliseconds of every start. A record's fields are its
``__slots__`` (those of its bases first) that do not start with ``_``;
``__init__`` takes them by the same names, which ``replace`` relies on.
Fields a class names in ``_internal`` are kept by ``replace`` but left out of
equality, hashing and repr (what dataclasses' ``compare=False, repr=False`` said).
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple, TypeVar
    R = TypeVar("R", bound="Record")


_FIELDS: Dict[type, Tuple[str, ...]] = {}
_COMPARED: Dict[type, Tuple[str, ...]] = {}


def fields_of(cls: type) -> Tuple[str, ...]:
    """The field names of a record class, in declaration order (bases first)."""
    names = _FIELDS.get(cls)
    if names is None:
        found: List[str] = []
        for klass in reversed(cls.__mro__):
            slots = klass.__dict__.get("__slots__", ())
            found.extend(n for n in ((slots,) if isinstance(slots, str) else slots)
                         if not n.startswith("_"))
        names = _FIELDS[cls] = tuple(found)
    return names


def _compared(cls: type) -> Tuple[str, ...]:
    names = _COMPARED.get(cls)
    if names is None:
        internal = getattr(cls, "_internal", ())
        names = _COMPARED[cls] = tuple(n for n in fields_of(cls) if n not in internal)
    return names


class Record:
    """Base of a mutable record: compared field by field, unhashable."""

    __slots__ = ()

    _internal: Tuple[str, ...] = ()

    def _values(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, n) for n in _compared(type(self)))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined,no-any-return]

    # mutable: two equal records may change apart, so they are not hashable
    __hash__: Optional[Any] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}(" + ", ".join(
            f"{n}={getattr(self, n)!r}" for n in _compared(type(self))) + ")"

    def replace(self: R, **changes: Any) -> R:
        """A copy with ``changes`` applied (dataclasses.replace's meaning)."""
        values = {n: getattr(self, n) for n in fields_of(type(self))}
        values.update(changes)
        return type(self)(**values)

    def __reduce__(self) -> Tuple[Any, ...]:
        # copy, deepcopy and pickle rebuild through __init__, as replace does:
        # a frozen record refuses the attribute sets of the default protocol
        return _rebuilt, (type(self), {n: getattr(self, n) for n in fields_of(type(self))})


def _rebuilt(cls: type, values: Dict[str, Any]) -> Any:
    return cls(**values)


class FrozenRecord(Record):
    """Base of an immutable record: hashable; its ``__init__`` sets fields
    through ``object.__setattr__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: cannot delete {name!r}")

    def __hash__(self) -> int:
        return hash(self._values())
