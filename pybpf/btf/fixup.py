"""Preparing an object's BTF for the kernel: DATASEC fixups and sanitizing unsupported kinds.

clang leaves DATASEC sizes and VAR offsets at zero; the loader knows them from
the ELF section headers and symbol table and hands them to ``fixup_datasecs``.
``sanitize`` rewrites kinds an older kernel does not know into ones it does,
keeping type ids stable (the same substitutions libbpf makes).
"""
from __future__ import annotations

from typing import AbstractSet, Mapping, Optional

from ..errors import BTFError
from .spec import Spec
from .types import (
    FUNC_STATIC,
    VAR_GLOBAL_EXTERN,
    VAR_STATIC,
    Const,
    Datasec,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Int,
    Kind,
    Member,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
)

# Feature names for sanitize(): what the running kernel's BTF loader accepts.
FEATURES = frozenset({
    "func",           # FUNC and FUNC_PROTO (4.20)
    "func_global",    # FUNC with global linkage (5.6)
    "datasec",        # VAR and DATASEC (5.2)
    "qmark_datasec",  # DATASEC names starting with '?' (5.19)
    "float",          # FLOAT (5.13)
    "decl_tag",       # DECL_TAG (5.16)
    "type_tag",       # TYPE_TAG (5.17)
    "enum64",         # ENUM64 and signed ENUM (6.0)
})

# Sections whose DATASEC the loader builds from externs, not from ELF symbols.
EXTERN_SECTIONS = frozenset({".kconfig", ".ksyms"})


def fixup_datasecs(spec: Spec, section_sizes: Mapping[str, int],
                   symbol_offsets: Mapping[str, Mapping[str, int]]) -> None:
    """Fill in zero DATASEC sizes and their VAR offsets; sorts each DATASEC's vars by offset.

    ``section_sizes`` maps ELF section names to their sizes and
    ``symbol_offsets[section][name]`` gives a global variable's ``st_value``.
    Static and extern variables need no symbol. Raises BTFError naming the
    section or variable the ELF does not describe.
    """
    for type_id in range(spec.first_id, spec.type_count):
        if spec.kind_of(type_id) != Kind.DATASEC:
            continue
        sec = spec.get_as(type_id, Datasec)
        if sec.name in EXTERN_SECTIONS:
            if any(a.offset > b.offset for a, b in zip(sec.vars, sec.vars[1:])):
                spec.set_type(type_id, Datasec(sec.name, sec.size,
                                               sorted(sec.vars, key=lambda v: v.offset)))
            continue
        size = sec.size
        fix_offsets = size == 0
        if fix_offsets:
            size = section_sizes.get(sec.name, 0)
            if not size:
                raise BTFError(f"DATASEC {sec.name!r} (type id {type_id}): no ELF section of "
                               f"that name with a size")
        offsets = symbol_offsets.get(sec.name, {})
        new_vars = []
        for vsi in sec.vars:
            var = spec[vsi.type]
            if not isinstance(var, Var):
                new_vars.append(vsi)
                continue
            offset = vsi.offset
            if var.linkage not in (VAR_STATIC, VAR_GLOBAL_EXTERN):
                if var.name not in offsets:
                    raise BTFError(f"DATASEC {sec.name!r}: variable {var.name!r} (type id "
                                   f"{vsi.type}) has no ELF symbol")
                if fix_offsets:
                    offset = offsets[var.name]
            new_vars.append(VarSecinfo(vsi.type, offset, vsi.size))
        new_vars.sort(key=lambda v: v.offset)
        new = Datasec(sec.name, size, new_vars)
        if new != sec:
            spec.set_type(type_id, new)


def sanitize(spec: Spec, features: AbstractSet[str]) -> bytes:
    """The BTF of ``spec`` re-marshalled so that a kernel with ``features`` accepts it.

    ``features`` holds names from ``FEATURES``. Type ids are unchanged (one
    placeholder INT may be appended for ENUM64), string offsets of existing
    strings too, so .BTF.ext line info stays valid. ``spec`` is not modified.
    """
    unknown = set(features) - FEATURES
    if unknown:
        raise ValueError(f"unknown BTF features: {sorted(unknown)}")
    if FEATURES <= set(features):
        return spec.to_bytes()
    out = Spec.from_bytes(spec.to_bytes(), base=spec.base, name=spec.name)
    has = features.__contains__
    placeholder = 0
    for type_id in range(out.first_id, out.type_count):
        kind = out.kind_of(type_id)
        t = out[type_id]
        new: Optional[Type] = None
        if kind == Kind.VAR and not has("datasec") or kind == Kind.DECL_TAG and not has(
                "decl_tag"):
            new = Int(t.name, 1, 0, 8)
        elif kind == Kind.DATASEC:
            assert isinstance(t, Datasec)
            if not has("datasec"):
                members = [Member(out.name_of(v.type), v.type, v.offset * 8) for v in t.vars]
                new = Struct(t.name.replace(".", "_").replace("?", "_"), t.size, members)
            elif not has("qmark_datasec") and t.name.startswith("?"):
                new = Datasec("_" + t.name[1:], t.size, t.vars)
        elif kind == Kind.FUNC_PROTO and not has("func"):
            assert isinstance(t, FuncProto)
            new = Enum("", 4, False, [EnumValue(p.name, p.type) for p in t.params])
        elif kind == Kind.FUNC:
            assert isinstance(t, Func)
            if not has("func"):
                new = Typedef(t.name, t.type)
            elif not has("func_global") and t.linkage != FUNC_STATIC:
                new = Func(t.name, t.type, FUNC_STATIC)
        elif kind == Kind.FLOAT and not has("float"):
            assert isinstance(t, Float)
            new = Struct("", t.size, [])
        elif kind == Kind.TYPE_TAG and not has("type_tag"):
            assert isinstance(t, TypeTag)
            new = Const(t.type)
        elif kind == Kind.ENUM and not has("enum64") and isinstance(t, Enum) and t.signed:
            new = Enum(t.name, t.size, False, t.values)
        elif kind == Kind.ENUM64 and not has("enum64"):
            assert isinstance(t, Enum64)
            if not placeholder:
                placeholder = out.add(Int("enum64_placeholder", 1, 0, 8))
            new = Union(t.name, t.size, [Member(v.name, placeholder, 0) for v in t.values])
        if new is not None:
            out.set_type(type_id, new)
    return out.to_bytes()

