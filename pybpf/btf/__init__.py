"""BTF: parse, query, build and re-marshal BPF Type Format blobs (pure layer).

``Spec`` is a lazily decoded blob, ``Builder`` assembles one from type
objects, the type classes (one per BTF kind) live in ``pybpf.btf.types``.
"""
from __future__ import annotations

from .builder import Builder
from .fixup import FEATURES, fixup_datasecs, sanitize
from .spec import Spec
from .types import (
    FUNC_EXTERN,
    FUNC_GLOBAL,
    FUNC_STATIC,
    INT_BOOL,
    INT_CHAR,
    INT_SIGNED,
    VAR_GLOBAL_ALLOCATED,
    VAR_GLOBAL_EXTERN,
    VAR_STATIC,
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)

__all__ = [
    "Builder", "Spec", "FEATURES", "fixup_datasecs", "sanitize", "Kind", "Type", "Void", "Int", "Ptr",
    "Array", "Struct", "Union",
    "Member", "Enum", "Enum64", "EnumValue", "Fwd", "Typedef", "Volatile", "Const", "Restrict",
    "TypeTag", "Func", "FuncProto", "Param", "Var", "Datasec", "VarSecinfo", "Float", "DeclTag",
    "INT_SIGNED", "INT_CHAR", "INT_BOOL", "FUNC_STATIC", "FUNC_GLOBAL", "FUNC_EXTERN",
    "VAR_STATIC", "VAR_GLOBAL_ALLOCATED", "VAR_GLOBAL_EXTERN",
]
