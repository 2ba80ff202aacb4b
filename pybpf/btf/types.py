"""BTF type classes: one dataclass per BTF kind, referencing other types by id.

A type never holds another type object, only its id in the Spec it belongs
to, so that types can be decoded one at a time and cycles cost nothing.
Names are Python strings; string offsets are a detail of the encoding.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar, List, Optional

BTF_MAGIC = 0xEB9F
BTF_VERSION = 1
BTF_MAX_TYPE = 0x000FFFFF
BTF_MAX_NAME_OFFSET = 0x00FFFFFF
BTF_MAX_VLEN = 0xFFFF

INT_SIGNED = 1 << 0
INT_CHAR = 1 << 1
INT_BOOL = 1 << 2

VAR_STATIC = 0
VAR_GLOBAL_ALLOCATED = 1
VAR_GLOBAL_EXTERN = 2

FUNC_STATIC = 0
FUNC_GLOBAL = 1
FUNC_EXTERN = 2


class Kind(enum.IntEnum):
    """The BTF_KIND_* values of the uapi."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class Type:
    """Base of every BTF type class; ``kind`` is a class attribute."""

    kind: ClassVar[Kind]
    # A dataclass field, or a class attribute "" for anonymous kinds; mypy
    # refuses that override, hence the ignores marked "anonymous kind" below.
    name: str

    def type_ids(self) -> List[int]:
        """The ids of the types this one references, in encoding order."""
        return []


@dataclass
class Void(Type):
    """Type id 0: void (and the "no type" of unnamed returns)."""

    kind: ClassVar[Kind] = Kind.UNKN
    name: ClassVar[str] = ""  # type: ignore[misc]  # anonymous kind


@dataclass(init=False)
class Int(Type):
    """An integer; ``encoding`` holds INT_SIGNED/INT_CHAR/INT_BOOL flags.

    ``Int("int", 4, signed=True)`` is short for ``Int("int", 4, INT_SIGNED)``;
    ``bits`` defaults to ``size * 8``.
    """

    kind: ClassVar[Kind] = Kind.INT
    name: str
    size: int
    encoding: int
    bits: int
    offset: int

    def __init__(self, name: str, size: int, encoding: int = 0, bits: Optional[int] = None,
                 offset: int = 0, *, signed: bool = False, char: bool = False,
                 bool: bool = False) -> None:
        self.name = name
        self.size = size
        self.encoding = (encoding | (INT_SIGNED if signed else 0) | (INT_CHAR if char else 0)
                         | (INT_BOOL if bool else 0))
        self.bits = size * 8 if bits is None else bits
        self.offset = offset

    @property
    def signed(self) -> bool:
        return bool(self.encoding & INT_SIGNED)

    @property
    def is_char(self) -> bool:
        return bool(self.encoding & INT_CHAR)

    @property
    def is_bool(self) -> bool:
        return bool(self.encoding & INT_BOOL)


@dataclass
class Ptr(Type):
    """A pointer to ``type``."""

    kind: ClassVar[Kind] = Kind.PTR
    name: ClassVar[str] = ""  # type: ignore[misc]  # anonymous kind
    type: int

    def type_ids(self) -> List[int]:
        return [self.type]


@dataclass
class Array(Type):
    """``nelems`` elements of ``type``, indexed by ``index_type`` (an Int)."""

    kind: ClassVar[Kind] = Kind.ARRAY
    name: ClassVar[str] = ""  # type: ignore[misc]  # anonymous kind
    type: int
    index_type: int
    nelems: int

    def type_ids(self) -> List[int]:
        return [self.type, self.index_type]


@dataclass
class Member:
    """A struct/union member; offsets in bits, ``bitfield_size`` 0 if not a bitfield."""

    name: str
    type: int
    bit_offset: int
    bitfield_size: int = 0


@dataclass
class Struct(Type):
    """A struct of ``size`` bytes; members in declaration order."""

    kind: ClassVar[Kind] = Kind.STRUCT
    name: str
    size: int
    members: List[Member] = field(default_factory=list)

    def type_ids(self) -> List[int]:
        return [m.type for m in self.members]

    def member(self, name: str) -> Member:
        """The member called ``name`` (KeyError if none)."""
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(name)


@dataclass
class Union(Struct):
    """A union: a Struct whose members all start at bit 0."""

    kind: ClassVar[Kind] = Kind.UNION


@dataclass
class EnumValue:
    """One enumerator of an Enum or Enum64."""

    name: str
    value: int


@dataclass
class Enum(Type):
    """A 32-bit enum; ``signed`` is the kind_flag (values are Python ints)."""

    kind: ClassVar[Kind] = Kind.ENUM
    name: str
    size: int
    signed: bool = False
    values: List[EnumValue] = field(default_factory=list)


@dataclass
class Enum64(Enum):
    """A 64-bit enum (same fields as Enum)."""

    kind: ClassVar[Kind] = Kind.ENUM64


@dataclass
class Fwd(Type):
    """A forward declaration; ``union`` is the kind_flag."""

    kind: ClassVar[Kind] = Kind.FWD
    name: str
    union: bool = False


@dataclass
class Typedef(Type):
    """``name`` for ``type``."""

    kind: ClassVar[Kind] = Kind.TYPEDEF
    name: str
    type: int

    def type_ids(self) -> List[int]:
        return [self.type]


@dataclass
class Volatile(Type):
    """``type`` qualified volatile (base of the other qualifiers)."""

    kind: ClassVar[Kind] = Kind.VOLATILE
    name: ClassVar[str] = ""  # type: ignore[misc]  # anonymous kind
    type: int

    def type_ids(self) -> List[int]:
        return [self.type]


@dataclass
class Const(Volatile):
    """``type`` qualified const."""

    kind: ClassVar[Kind] = Kind.CONST


@dataclass
class Restrict(Volatile):
    """``type`` qualified restrict."""

    kind: ClassVar[Kind] = Kind.RESTRICT


@dataclass
class TypeTag(Type):
    """A btf_type_tag (or whole attribute) on the pointee ``type``."""

    kind: ClassVar[Kind] = Kind.TYPE_TAG
    name: str
    type: int
    attribute: bool = False  # kind_flag: name is a whole __attribute__, not btf_type_tag

    def type_ids(self) -> List[int]:
        return [self.type]


@dataclass
class Func(Type):
    """A function; ``type`` is its FuncProto, ``linkage`` FUNC_STATIC/GLOBAL/EXTERN."""

    kind: ClassVar[Kind] = Kind.FUNC
    name: str
    type: int
    linkage: int = FUNC_STATIC

    def type_ids(self) -> List[int]:
        return [self.type]


@dataclass
class Param:
    """One parameter of a FuncProto (``name`` may be empty)."""

    name: str
    type: int


@dataclass
class FuncProto(Type):
    """A prototype; a last param with type 0 and no name means varargs."""

    kind: ClassVar[Kind] = Kind.FUNC_PROTO
    name: ClassVar[str] = ""  # type: ignore[misc]  # anonymous kind
    return_type: int
    params: List[Param] = field(default_factory=list)

    def type_ids(self) -> List[int]:
        return [self.return_type] + [p.type for p in self.params]


@dataclass
class Var(Type):
    """A global variable of ``type``; ``linkage`` VAR_STATIC/GLOBAL/EXTERN."""

    kind: ClassVar[Kind] = Kind.VAR
    name: str
    type: int
    linkage: int = VAR_STATIC

    def type_ids(self) -> List[int]:
        return [self.type]


@dataclass
class VarSecinfo:
    """Where a Datasec holds one variable: its Var id, offset and size."""

    type: int
    offset: int
    size: int


@dataclass
class Datasec(Type):
    """A data section (.data, .bss, .rodata, .maps, .kconfig...) and its variables."""

    kind: ClassVar[Kind] = Kind.DATASEC
    name: str
    size: int
    vars: List[VarSecinfo] = field(default_factory=list)

    def type_ids(self) -> List[int]:
        return [v.type for v in self.vars]


@dataclass
class Float(Type):
    """A floating-point type of ``size`` bytes."""

    kind: ClassVar[Kind] = Kind.FLOAT
    name: str
    size: int


@dataclass
class DeclTag(Type):
    """A tag on a type (``component_idx`` -1) or on its member/param number."""

    kind: ClassVar[Kind] = Kind.DECL_TAG
    name: str
    type: int
    component_idx: int = -1
    attribute: bool = False  # kind_flag: name is a whole __attribute__, not btf_decl_tag

    def type_ids(self) -> List[int]:
        return [self.type]


CLASS_OF_KIND = {cls.kind: cls for cls in (
    Void, Int, Ptr, Array, Struct, Union, Enum, Fwd, Typedef, Volatile, Const, Restrict,
    Func, FuncProto, Var, Datasec, Float, DeclTag, TypeTag, Enum64)}

# Kinds whose "size_type" word is a type id that resolve() looks through.
QUALIFIER_KINDS = frozenset({Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT,
                             Kind.TYPE_TAG})
