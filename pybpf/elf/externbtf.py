"""Rewrite the `.kconfig` and `.ksyms` DATASECs of an object's BTF for the kernel.

clang describes externs as VARs with extern linkage (and kfuncs as FUNCs)
inside DATASECs of size 0, which the kernel's BTF loader refuses. As libbpf
does: `.kconfig` variables become allocated globals at the offsets the
loader gave them in the `.kconfig` map; `.ksyms` entries become 4-byte
placeholder variables (a kfunc's entry points at a ``dummy_ksym`` VAR, its
FUNC becomes global and its unnamed parameters get a name).
"""
from __future__ import annotations

from typing import Dict

from pybpf.btf import types as bt
from pybpf.btf.spec import Spec
from pybpf.elf.specs import Extern
from pybpf.errors import BTFError

DUMMY_KSYM = "dummy_ksym"


def _int_id(btf: Spec) -> int:
    for tid in btf.iter_ids():
        if btf.kind_of(tid) == bt.Kind.INT:
            t = btf.get_as(tid, bt.Int)
            if t.size == 4 and t.bits == 32 and t.offset == 0:
                return tid
    return btf.add(bt.Int("int", 4, signed=True))


def rewrite_extern_datasecs(btf: Spec, externs: Dict[str, Extern], kconfig_size: int) -> None:
    """Apply the rewrite in place on ``btf`` (the object's own Spec)."""
    for tid in range(btf.first_id, btf.type_count):
        if btf.kind_of(tid) != bt.Kind.DATASEC:
            continue
        sec = btf.get_as(tid, bt.Datasec)
        if sec.name == ".kconfig":
            new_vars = []
            for vsi in sec.vars:
                var = btf[vsi.type]
                ext = externs.get(var.name)
                if ext is None or not isinstance(var, bt.Var):
                    raise BTFError(f".kconfig variable {var.name!r} has no ELF extern symbol")
                btf.set_type(vsi.type, bt.Var(var.name, var.type, bt.VAR_GLOBAL_ALLOCATED))
                new_vars.append(bt.VarSecinfo(vsi.type, ext.offset, vsi.size))
            new_vars.sort(key=lambda v: v.offset)
            btf.set_type(tid, bt.Datasec(sec.name, kconfig_size, new_vars))
        elif sec.name == ".ksyms":
            int_id = _int_id(btf)
            dummy = 0
            new_vars = []
            for i, vsi in enumerate(sec.vars):
                t = btf[vsi.type]
                if isinstance(t, bt.Func):
                    if not dummy:
                        dummy = btf.add(bt.Var(DUMMY_KSYM, int_id, bt.VAR_GLOBAL_ALLOCATED))
                    proto = btf[t.type]
                    if isinstance(proto, bt.FuncProto) and any(
                            p.type and not p.name for p in proto.params):
                        params = [bt.Param(p.name or (DUMMY_KSYM if p.type else ""), p.type)
                                  for p in proto.params]
                        btf.set_type(t.type, bt.FuncProto(proto.return_type, params))
                    btf.set_type(vsi.type, bt.Func(t.name, t.type, bt.FUNC_GLOBAL))
                    new_vars.append(bt.VarSecinfo(dummy, i * 4, 4))
                elif isinstance(t, bt.Var):
                    btf.set_type(vsi.type, bt.Var(t.name, int_id, bt.VAR_GLOBAL_ALLOCATED))
                    new_vars.append(bt.VarSecinfo(vsi.type, i * 4, 4))
                else:
                    raise BTFError(f".ksyms entry {vsi.type} is neither a variable nor a function")
            btf.set_type(tid, bt.Datasec(sec.name, 4 * len(new_vars), new_vars))
