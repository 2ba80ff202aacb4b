"""Preparing an object for this kernel: ObjectSpec -> PreparedObject (the cold path).

Runs what comes before the kernel load in libbpf's sequence: externs resolved
against the running kernel (`.kconfig` values into their map's image, ksyms),
each program linked (subprograms, map and data references) and CO-RE
relocated (one session for the object, results cached by pybpf.core.cache),
attach targets looked up in the kernel's BTF, struct_ops programs matched to
their kernel members, the object's BTF sanitized for this kernel, func and
line info packed. The result (pybpf.prepared) is loaded by pybpf.collection;
this module's context stays attached to it (``origin``) to build struct_ops
values once the programs have fds and to explain a program the verifier
refuses.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from pybpf import asm, core
from pybpf.btf import Kind, sanitize
from pybpf.btf import types as bt
from pybpf.btf.ext import pack_func_info, pack_line_info
from pybpf.elf import ObjectSpec
from pybpf.elf.specs import USDT_SPECS_MAP, MapSpec, ProgramSpec
from pybpf.errors import LoadError, VerifierError
from pybpf.features import btf_features
from pybpf.kernel_facts import running_kernel
from pybpf.linker import externs as ext_mod
from pybpf.linker import struct_ops
from pybpf.linker.link import LinkedProgram, link_program
from pybpf.prepared import PreparedMap, PreparedObject, PreparedProgram
from pybpf.records import fields_of
from pybpf.uapi import ProgType

if TYPE_CHECKING:
    from pybpf.btf.spec import Spec
    from pybpf.core.result import RelocResult

_UNSUPPORTED: Dict[int, str] = {
    ProgType.EXT: "freplace programs need the program they replace; not supported by pybpf",
}
_SUBPROG_MISMATCH = "number of funcs in func_info doesn't match number of subprogs"


def prepare_bytes(data: bytes, name: str, *, max_entries: Mapping[str, int],
                  programs: Optional[Sequence[str]], exclude: Sequence[str],
                  btf: Any = None) -> PreparedObject:
    """Parse ``data``, apply the overrides (see pybpf.prepared.prepare) and prepare it;
    constants are written after (PreparedObject.set_constants)."""
    spec = ObjectSpec.from_bytes(data, name)
    for map_name, entries in max_entries.items():
        if map_name not in spec.maps:
            raise LoadError(f"{spec.name}: no map named {map_name!r} to resize")
        spec.maps[map_name].max_entries = entries
    for prog in exclude:
        spec.programs.pop(prog, None)
    return prepare_spec(spec, btf, programs)


def prepare_spec(spec: ObjectSpec, btf: Any = None,
                 programs: Optional[Sequence[str]] = None) -> PreparedObject:
    """``spec`` prepared against ``btf`` (None: the running kernel; a path or a
    btf.Spec otherwise), loading ``programs`` (default: every autoload one)."""
    return _Preparer(spec, btf).run(list(programs) if programs is not None else None)


class _Preparer:
    def __init__(self, spec: ObjectSpec, btf: Any) -> None:
        self.spec = spec
        self._btf_arg = btf  # as given: None (the running kernel) or a path keeps CO-RE cached
        self._target_btf: Union[None, str, "os.PathLike[str]", Spec] = btf
        self.linked: Dict[str, LinkedProgram] = {}
        self.core_results: Dict[str, List[RelocResult]] = {}
        self.struct_ops_kernel: Dict[str, Any] = {}
        self.struct_ops_targets: Dict[str, Tuple[int, int]] = {}

    @property
    def needs_origin(self) -> bool:
        """Whether loading needs this context (struct_ops values): such objects are not cached."""
        return bool(self.spec.struct_ops)

    def target_btf(self) -> Spec:
        """The BTF that CO-RE, kfuncs and attach targets resolve against (loaded once)."""
        if self._target_btf is None or isinstance(self._target_btf, (str, os.PathLike)):
            self._target_btf = core.kernel_btf(self._target_btf)
        return self._target_btf

    def run(self, names: Optional[List[str]]) -> PreparedObject:
        spec = self.spec
        self.struct_ops_targets = self._struct_ops_targets()
        if names is None:  # a struct_ops program no struct_ops map uses is not loaded (libbpf)
            names = [n for n, p in spec.programs.items() if p.autoload and (
                p.prog_type != ProgType.STRUCT_OPS or n in self.struct_ops_targets)]
        for name in names:
            if name not in spec.programs:
                raise LoadError(f"{spec.name}: no program named {name!r}")
        kernel = running_kernel(self.target_btf)
        ext_mod.fill_kconfig(spec, kernel)
        ksyms = ext_mod.resolve_ksyms(spec, kernel)
        for name in names:
            linked = link_program(spec, name)
            ext_mod.patch_externs(linked, spec, ksyms)
            self.linked[name] = linked
        self._relocate()
        btf_bytes = spec.btf.to_bytes() if spec.btf is not None else None
        btf_load = sanitize(spec.btf, btf_features()) if spec.btf is not None else None
        maps = {name: _prepared_map(m) for name, m in spec.maps.items()}
        for name, kern in self.struct_ops_kernel.items():
            maps[name] = maps[name].replace(
                value_size=kern.value_size, key_type_id=0, value_type_id=0,
                btf_vmlinux_value_type_id=kern.wrapper_id)
        progs = {name: self._program(lp, spec.btf is not None) for name, lp in self.linked.items()}
        return PreparedObject(os.path.basename(spec.name), spec.license, maps, progs,
                              btf_bytes, btf_load, self._constants(), origin=self)

    def _constants(self) -> Dict[str, Tuple[str, int, int, str]]:
        """The `.rodata` variables and how an int is written into each (as
        ObjectSpec.constants writes it; see PreparedObject.set_constants)."""
        out = {}
        btf = self.spec.btf
        for name in self.spec.constants:
            var = self.spec.constants.info(name)
            kind = ""
            if btf is not None and var.type_id:
                t = btf[btf.resolve(var.type_id)]
                if isinstance(t, (bt.Int, bt.Enum)):
                    signed = bool(getattr(t, "signed", False))
                    kind = ("se" if signed else "e") if not isinstance(t, bt.Int) else (
                        "s" if signed else "u")
            out[name] = (var.section, var.offset, var.size, kind)
        return out

    # -- struct_ops --------------------------------------------------------------------------

    def _struct_ops_targets(self) -> Dict[str, Tuple[int, int]]:
        """Program -> (attach_btf_id, expected_attach_type) from the struct_ops maps using it;
        a program serves one member of one kernel struct (libbpf's rule)."""
        targets: Dict[str, Tuple[int, int]] = {}
        for name, ops in self.spec.struct_ops.items():
            where = f"{self.spec.name}: struct_ops {name!r}"
            kern = struct_ops.kernel_struct_ops(where, self.target_btf(), ops.type_name)
            self.struct_ops_kernel[name] = kern
            for prog, target in struct_ops.program_targets(where, ops, self.target_btf(),
                                                           kern).items():
                if targets.setdefault(prog, target) != target:
                    raise LoadError(f"{where}: program {prog!r} is already used for another "
                                    "member or struct_ops type")
        return targets

    def struct_ops_values(self, prog_fds: Mapping[str, int]) -> Dict[str, Tuple[bytes, bool]]:
        """struct_ops map name -> (value to register, through a BPF link?), for the maps
        whose programs were all loaded."""
        out = {}
        for name, ops in self.spec.struct_ops.items():
            if set(ops.programs.values()) - set(prog_fds):
                continue  # its programs were not asked for (load(programs=...)): no value
            value = struct_ops.kernel_value(f"{self.spec.name}: struct_ops {name!r}", ops,
                                            self.spec.btf, self.target_btf(),
                                            self.struct_ops_kernel[name], prog_fds)
            out[name] = (value, ops.link)
        return out

    # -- programs ----------------------------------------------------------------------------

    def _relocate(self) -> None:
        """CO-RE for every program at once: one session (libbpf's shared candidate pruning)
        and, against the kernel or a BTF file, results cached on disk so a warm load never
        parses the target BTF."""
        programs = {name: (lp.instructions, lp.core_relos) for name, lp in self.linked.items()
                    if lp.core_relos}
        if not programs:
            return
        if self.spec.btf is None:
            raise LoadError(f"{self.spec.name}: CO-RE relocations but no .BTF section")
        self.core_results = core.relocate_object(programs, self.spec.btf, self._btf_arg)

    def _program(self, linked: LinkedProgram, has_btf: bool) -> PreparedProgram:
        prog: ProgramSpec = linked.program
        where = f"{self.spec.name}: program {prog.name!r}"
        if not prog.prog_type:
            raise LoadError(f"{where}: unknown section {prog.section!r}, cannot tell the "
                            "program type")
        if prog.prog_type in _UNSUPPORTED:
            raise LoadError(f"{where}: {_UNSUPPORTED[prog.prog_type]} (SEC {prog.section!r})")
        attach_btf_id = self._attach_btf_id(where, prog)
        expected = prog.expected_attach_type
        if prog.prog_type == ProgType.STRUCT_OPS:
            if prog.name not in self.struct_ops_targets:
                raise LoadError(f"{where}: no struct_ops map uses this struct_ops program")
            attach_btf_id, expected = self.struct_ops_targets[prog.name]
        return PreparedProgram(
            name=prog.name, section=prog.section, prog_type=int(prog.prog_type),
            insns=asm.encode(linked.instructions),
            map_slots=[(ref.slot, ref.map) for ref in linked.map_refs],
            expected_attach_type=int(expected), attach_to=prog.attach_to,
            attach_btf_id=attach_btf_id, license=prog.license or self.spec.license,
            kernel_version=prog.kernel_version, flags=int(prog.flags),
            func_info=pack_func_info(linked.func_info) if has_btf and linked.func_info else b"",
            line_info=pack_line_info(linked.line_info) if has_btf and linked.line_info else b"",
            uses_usdt_specs=any(ref.map == USDT_SPECS_MAP for ref in linked.map_refs))

    def _attach_btf_id(self, where: str, prog: ProgramSpec) -> int:
        sec_def = prog.sec_def
        target = sec_def.btf_target(prog.attach_to) if sec_def is not None else None
        if target is None:
            return 0
        name, kind = target
        vmlinux = self.target_btf()
        want = Kind.TYPEDEF if kind == "typedef" else Kind.FUNC
        for tid in vmlinux.ids_by_name(name):
            if vmlinux.kind_of(tid) == want:
                return int(tid)
        raise LoadError(f"{where}: attach target {name!r} not found in the kernel's BTF")

    def refusal(self, name: str, exc: VerifierError) -> Optional[Exception]:
        """A clearer error for the verifier's refusal of program ``name``, when the cause
        is one pybpf can name (callbacks on an old kernel, a missing kfunc, CO-RE)."""
        linked = self.linked[name]
        where = f"{self.spec.name}: program {name!r}"
        if linked.callbacks and _SUBPROG_MISMATCH in exc.log:
            return LoadError(_callbacks_unsupported(where, linked))
        kfunc = ext_mod.kfunc_of_poison(self.spec, exc.log)
        if kfunc is not None:
            return LoadError(f"{where}: calls kfunc {kfunc!r}, which this kernel does not "
                             "have (__weak), on a path not guarded by bpf_ksym_exists()")
        return core.error_from_verifier(name, exc.log, self.core_results.get(name, []),
                                        linked.line_info)


def _prepared_map(m: MapSpec) -> PreparedMap:
    """Every MapSpec field under its own name (PreparedMap has them all, and one more
    that struct_ops sets), the enums as ints, the inner map prepared too."""
    values = {name: getattr(m, name) for name in fields_of(MapSpec)}
    values.update(type=int(m.type), flags=int(m.flags), contents=dict(m.contents),
                  inner=_prepared_map(m.inner) if m.inner else None)
    return PreparedMap(**values)


def _callbacks_unsupported(where: str, linked: LinkedProgram) -> str:
    """Why a kernel refused func_info that matches the linked functions one to one:
    it did not count the callback targets as subprograms (BPF_PSEUDO_FUNC came
    in Linux 5.13, with bpf_for_each_map_elem; bpf_loop in 5.17)."""
    names = ", ".join(sorted({name for _, name in linked.callbacks}))
    return (f"{where}: passes {names} as a callback (BPF_PSEUDO_FUNC, as for bpf_loop), "
            "which this kernel does not support (Linux 5.13+); it counts fewer subprograms "
            "than the program has")
