"""Load an ObjectSpec into the kernel: BTF, maps, global data, programs.

``load(spec_or_path)`` runs libbpf's sequence: externs resolved against the
running kernel, the object's BTF loaded (DATASECs fixed up at parse time,
sanitized for this kernel), maps created or reused from their pins, global
data written and `.rodata`/`.kconfig` frozen, map-in-map slots filled, then
each program linked, CO-RE-relocated and loaded, and program-array slots
filled. Any failure closes everything made so far and removes the pins it
created. A Collection owns the resulting maps and programs.
"""
from __future__ import annotations

import dataclasses
import os
from types import SimpleNamespace
from typing import Dict, List, Optional, Tuple, Union

from pybpf import asm, core
from pybpf.btf import Kind, sanitize
from pybpf.btf.ext import pack_func_info, pack_line_info
from pybpf.elf import ObjectSpec
from pybpf.elf.specs import PIN_BY_NAME, USDT_SPECS_MAP, MapSpec, ProgramSpec
from pybpf.errors import BPFError, LoadError, SyscallError, VerifierError
from pybpf.features import btf_features
from pybpf.kernel_facts import running_kernel
from pybpf.linker import externs as ext_mod
from pybpf.linker import struct_ops
from pybpf.linker.link import LinkedProgram, link_program
from pybpf.maps import Map
from pybpf.programs import Program
from pybpf.sys import commands as cmds
from pybpf.sys.fd import FD
from pybpf.uapi import MapType, ProgType

DEFAULT_PIN_ROOT = "/sys/fs/bpf"
ZERO_KEY = b"\0\0\0\0"
# Map types the kernel refuses BTF key/value ids for (libbpf drops them too).
_NO_BTF_TYPES = frozenset({
    MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.STACK_TRACE,
    MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.DEVMAP, MapType.DEVMAP_HASH,
    MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP, MapType.SOCKHASH, MapType.QUEUE,
    MapType.STACK,
})

_UNSUPPORTED: Dict[int, str] = {
    ProgType.EXT: "freplace programs need the program they replace; not supported by pybpf",
}


class Collection:
    """The maps and programs of one loaded object; ``close()`` releases them all."""

    def __init__(self, spec: ObjectSpec) -> None:
        self.spec = spec
        self.maps: Dict[str, Map] = {}
        self.programs: Dict[str, Program] = {}
        self.btf_fd: Optional[FD] = None
        self.btf_error = ""  # why the object's BTF was not loaded (libbpf continues without)
        self._created_pins: List[str] = []
        # struct_ops map name -> (value to register, through a BPF link?)
        self._struct_ops: Dict[str, Tuple[bytes, bool]] = {}

    def attach_all(self):
        """Attach every program that auto-attaches from its SEC name (see pybpf.links) and
        register every struct_ops map (as libbpf's skeleton attach does)."""
        from pybpf.links import attach_all
        group = attach_all(self.programs)
        try:
            for name in self._struct_ops:
                group.add(self.attach_struct_ops(name))
        except BaseException:
            group.close()
            raise
        return group

    def attach_struct_ops(self, name: str):
        """Register struct_ops map ``name`` (``SEC(".struct_ops[.link]")`` variable); the
        returned Link unregisters it on close."""
        from pybpf.links.struct_ops import attach_struct_ops
        if name not in self._struct_ops:
            raise LoadError(f"{self.spec.name}: no struct_ops map named {name!r} "
                            f"(known: {', '.join(sorted(self._struct_ops)) or 'none'})")
        value, link = self._struct_ops[name]
        return attach_struct_ops(self.maps[name], value, link)

    def close(self) -> None:
        for prog in self.programs.values():
            prog.close()
        for m in self.maps.values():
            m.close()
        if self.btf_fd is not None:
            self.btf_fd.close()

    def _abort(self) -> None:
        """Undo a failed load: close everything and remove the pins this load created."""
        self.close()
        for path in self._created_pins:
            try:
                os.unlink(path)
            except OSError:
                pass

    def __enter__(self) -> "Collection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Collection({self.spec.name!r}, maps={sorted(self.maps)}, programs={sorted(self.programs)})"


def load(spec_or_path: Union[ObjectSpec, str, os.PathLike], *, btf=None,
         pin_root: Optional[Union[str, os.PathLike]] = None, log_level: int = 0,
         programs: Optional[List[str]] = None) -> Collection:
    """Load an object (ObjectSpec or path) and return its Collection.

    ``btf`` is the target BTF for CO-RE and kernel BTF lookups: a btf.Spec, a
    path to a BTF/ELF file, or None for the running kernel's. ``pin_root`` is the directory of LIBBPF_PIN_BY_NAME
    maps (default /sys/fs/bpf). ``programs`` limits which programs load
    (default: every program not marked SEC("?...")).
    """
    spec = spec_or_path if isinstance(spec_or_path, ObjectSpec) else ObjectSpec.from_file(spec_or_path)
    loader = _Loader(spec, btf, os.fspath(pin_root) if pin_root else DEFAULT_PIN_ROOT, log_level)
    coll = loader.coll
    try:
        loader.run(programs)
    except BaseException:
        coll._abort()
        raise
    return coll


class _Loader:
    def __init__(self, spec: ObjectSpec, btf, pin_root: str, log_level: int) -> None:
        self.spec = spec
        self.coll = Collection(spec)
        self._btf_arg = btf  # as given: None (the running kernel) or a path keeps CO-RE cached
        self._target_btf = btf
        self.pin_root = pin_root
        self.log_level = log_level
        self.reused: set = set()
        self.core_results: Dict[str, list] = {}

    def target_btf(self):
        """The BTF that CO-RE, kfuncs and attach targets resolve against (loaded once)."""
        if self._target_btf is None or isinstance(self._target_btf, (str, os.PathLike)):
            self._target_btf = core.kernel_btf(self._target_btf)
        return self._target_btf

    def run(self, names: Optional[List[str]]) -> None:
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
        linked = {name: self._link(name, ksyms) for name in names}
        self._relocate(linked)
        self._load_btf()
        self._create_maps()
        self._create_struct_ops_maps()
        self._type_maps()
        self._fill_maps(lambda m: m.type != MapType.PROG_ARRAY)
        for name in names:
            self.coll.programs[name] = self._load_program(linked[name])
            self._bind_rodata(self.coll.programs[name])
            if any(ref.map == USDT_SPECS_MAP for ref in linked[name].map_refs):
                self.coll.programs[name].usdt_spec_map = self.coll.maps[USDT_SPECS_MAP]
        self._fill_maps(lambda m: m.type == MapType.PROG_ARRAY)
        self._struct_ops_values()

    # -- BTF ---------------------------------------------------------------------------------

    def _load_btf(self) -> None:
        if self.spec.btf is None:
            return
        data = sanitize(self.spec.btf, btf_features())
        try:
            self.coll.btf_fd = cmds.btf_load(data, detail=f"{self.spec.name}: .BTF")
        except SyscallError as exc:
            log = cmds.LogBuffer(1 << 20, 1)
            try:
                cmds.btf_load(data, log=log).close()
            except SyscallError:
                pass
            lines = log.text.strip().splitlines()
            self.coll.btf_error = f"{exc}: {lines[-1] if lines else 'no log'}"

    # -- maps --------------------------------------------------------------------------------

    def _create_maps(self) -> None:
        btf_fd = self.coll.btf_fd
        for name, mspec in self.spec.maps.items():
            where = f"{self.spec.name}: map {name!r}"
            if mspec.type == MapType.STRUCT_OPS:
                continue  # _create_struct_ops_maps: its value type is the kernel's
            if mspec.pinning == PIN_BY_NAME:
                path = os.path.join(self.pin_root, name)
                if os.path.exists(path):
                    self.coll.maps[name] = _reuse_pinned(where, mspec, path)
                    self.reused.add(name)
                    continue
            kspec = _kernel_spec(mspec)
            try:
                m = Map.create(kspec, btf_fd=btf_fd if kspec.type not in _NO_BTF_TYPES else None)
            except SyscallError as exc:
                raise LoadError(f"{where}: {exc}") from exc
            self.coll.maps[name] = m
            if mspec.pinning == PIN_BY_NAME:
                path = os.path.join(self.pin_root, name)
                try:
                    m.pin(path)
                except SyscallError as exc:
                    raise LoadError(f"{where}: pinning at {path}: {exc}") from exc
                self.coll._created_pins.append(path)

    def _type_maps(self) -> None:
        """Keys and values typed by the object's BTF (decoded and encoded on use)."""
        if self.spec.btf is None:
            return
        for name, m in self.coll.maps.items():
            mspec = self.spec.maps[name]
            m.set_btf(self.spec.btf, mspec.key_type_id, mspec.value_type_id)

    def _fill_maps(self, which) -> None:
        for name, mspec in self.spec.maps.items():
            if name in self.reused or not which(mspec):
                continue
            m = self.coll.maps[name]
            where = f"{self.spec.name}: map {name!r}"
            try:
                if mspec.data is not None:  # the image itself, not a copy (see section_image)
                    cmds.map_update_elem(m.fd, ZERO_KEY, memoryview(mspec.data), detail=where)
                for key, value in mspec.contents.items():
                    element = self._element(mspec, key, value)
                    if element is not None:
                        m[element[0]] = element[1]
                if mspec.freeze:
                    m.freeze()
            except SyscallError as exc:
                raise LoadError(f"{where}: initialising: {exc}") from exc

    def _element(self, mspec: MapSpec, key, value) -> Optional[Tuple[bytes, bytes]]:
        """Key and value bytes of an initial element; None for a program slot whose
        program was not asked for (``load(programs=...)``)."""
        if isinstance(value, str):  # a slot naming a program or a map
            pool = self.coll.programs if mspec.type == MapType.PROG_ARRAY else self.coll.maps
            if value not in pool:
                return None
            value = int(pool[value].fd).to_bytes(4, "little")
        if isinstance(key, int):
            key = key.to_bytes(mspec.key_size, "little")
        return key, value

    # -- struct_ops --------------------------------------------------------------------------

    def _struct_ops_targets(self) -> Dict[str, Tuple[int, int]]:
        """Program -> (attach_btf_id, expected_attach_type) from the struct_ops maps using it;
        a program serves one member of one kernel struct (libbpf's rule)."""
        self.struct_ops_kernel = {}
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

    def _create_struct_ops_maps(self) -> None:
        for name in self.spec.struct_ops:
            kern, mspec = self.struct_ops_kernel[name], self.spec.maps[name]
            created = SimpleNamespace(name=mspec.kernel_name, type=mspec.type,
                                    key_size=mspec.key_size, value_size=kern.value_size,
                                    max_entries=mspec.max_entries, flags=mspec.flags,
                                    btf_vmlinux_value_type_id=kern.wrapper_id)
            try:
                self.coll.maps[name] = Map.create(created, btf_fd=self.coll.btf_fd)
            except SyscallError as exc:
                raise LoadError(f"{self.spec.name}: struct_ops map {name!r}: {exc}") from exc

    def _struct_ops_values(self) -> None:
        fds = {name: int(p.fd) for name, p in self.coll.programs.items()}
        for name, ops in self.spec.struct_ops.items():
            missing = sorted(set(ops.programs.values()) - set(fds))
            if missing:
                continue  # its programs were not asked for (load(programs=...)): no value
            value = struct_ops.kernel_value(f"{self.spec.name}: struct_ops {name!r}", ops,
                                            self.spec.btf, self.target_btf(),
                                            self.struct_ops_kernel[name], fds)
            self.coll._struct_ops[name] = (value, ops.link)

    # -- programs ----------------------------------------------------------------------------

    def _link(self, name: str, ksyms) -> LinkedProgram:
        linked = link_program(self.spec, name)
        ext_mod.patch_externs(linked, self.spec, ksyms)
        return linked

    def _relocate(self, linked: Dict[str, LinkedProgram]) -> None:
        """CO-RE for every program at once: one session (libbpf's shared candidate pruning)
        and, against the kernel or a BTF file, results cached on disk so a warm load never
        parses the target BTF."""
        programs = {name: (lp.instructions, lp.core_relos) for name, lp in linked.items()
                    if lp.core_relos}
        if not programs:
            return
        if self.spec.btf is None:
            raise LoadError(f"{self.spec.name}: CO-RE relocations but no .BTF section")
        self.core_results = core.relocate_object(programs, self.spec.btf, self._btf_arg)

    def _bind_rodata(self, prog: Program) -> None:
        """Bind every `.rodata*` map to the program, as libbpf does, whether the program reads
        it or not: tools find `bpf_metadata_*` constants through the program's maps. Best
        effort, as in libbpf: a kernel without BPF_PROG_BIND_MAP (before 5.10) says EINVAL and
        the program keeps only the maps it references."""
        for name, mspec in self.spec.maps.items():
            if mspec.section == ".rodata" or mspec.section.startswith(".rodata."):
                try:
                    cmds.prog_bind_map(prog.fd, self.coll.maps[name].fd)
                except SyscallError:
                    return

    def _load_program(self, linked: LinkedProgram) -> Program:
        prog: ProgramSpec = linked.program
        where = f"{self.spec.name}: program {prog.name!r}"
        if not prog.prog_type:
            raise LoadError(f"{where}: unknown section {prog.section!r}, cannot tell the "
                            "program type")
        if prog.prog_type in _UNSUPPORTED:
            raise LoadError(f"{where}: {_UNSUPPORTED[prog.prog_type]} (SEC {prog.section!r})")
        fds = {name: int(m.fd) for name, m in self.coll.maps.items()}
        insns = asm.encode(linked.with_map_fds(fds))
        btf_fd = self.coll.btf_fd
        attach_btf_id = self._attach_btf_id(where, prog)
        if prog.prog_type == ProgType.STRUCT_OPS:
            if prog.name not in self.struct_ops_targets:
                raise LoadError(f"{where}: no struct_ops map uses this struct_ops program")
            attach_btf_id, member = self.struct_ops_targets[prog.name]
            prog = dataclasses.replace(prog, expected_attach_type=member)
        try:
            return self._prog_load(prog, insns, btf_fd, linked, attach_btf_id)
        except VerifierError as exc:
            if linked.callbacks and _SUBPROG_MISMATCH in exc.log:
                raise LoadError(_callbacks_unsupported(where, linked)) from exc
            kfunc = ext_mod.kfunc_of_poison(self.spec, exc.log)
            if kfunc is not None:
                raise LoadError(f"{where}: calls kfunc {kfunc!r}, which this kernel does not "
                                "have (__weak), on a path not guarded by "
                                "bpf_ksym_exists()") from exc
            core_error = core.error_from_verifier(prog.name, exc.log,
                                                  self.core_results.get(prog.name, []),
                                                  linked.line_info)
            if core_error is None:
                raise
            raise core_error from exc

    def _prog_load(self, prog: ProgramSpec, insns: bytes, btf_fd, linked: LinkedProgram,
                   attach_btf_id: int) -> Program:
        return Program.load(
            prog.name, prog.prog_type, insns, prog.license or self.spec.license,
            expected_attach_type=prog.expected_attach_type,
            kernel_version=prog.kernel_version, flags=prog.flags, btf_fd=btf_fd,
            func_info=pack_func_info(linked.func_info) if btf_fd and linked.func_info else b"",
            func_info_rec_size=8,
            line_info=pack_line_info(linked.line_info) if btf_fd and linked.line_info else b"",
            line_info_rec_size=16, attach_btf_id=attach_btf_id, log_level=self.log_level,
            section=prog.section, attach_to=prog.attach_to)

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
                return tid
        raise LoadError(f"{where}: attach target {name!r} not found in the kernel's BTF")


_SUBPROG_MISMATCH = "number of funcs in func_info doesn't match number of subprogs"


def _callbacks_unsupported(where: str, linked: LinkedProgram) -> str:
    """Why a kernel refused func_info that matches the linked functions one to one:
    it did not count the callback targets as subprograms (BPF_PSEUDO_FUNC came
    in Linux 5.13, with bpf_for_each_map_elem; bpf_loop in 5.17)."""
    names = ", ".join(sorted({name for _, name in linked.callbacks}))
    return (f"{where}: passes {names} as a callback (BPF_PSEUDO_FUNC, as for bpf_loop), "
            "which this kernel does not support (Linux 5.13+); it counts fewer subprograms "
            "than the program has")


def _kernel_spec(mspec: MapSpec) -> MapSpec:
    """The spec as Map.create sees it: named as the kernel knows it."""
    return dataclasses.replace(mspec, name=mspec.kernel_name)


def _reuse_pinned(where: str, mspec: MapSpec, path: str) -> Map:
    try:
        m = Map.from_pin(path)
    except BPFError as exc:
        raise LoadError(f"{where}: cannot reuse pin {path}: {exc}") from exc
    max_entries = mspec.max_entries
    if mspec.type == MapType.PERF_EVENT_ARRAY and not max_entries:
        max_entries = m.max_entries  # "one per CPU", whatever that was when it was made
    have = (m.type, m.key_size, m.value_size, m.max_entries, m.flags, m.info().map_extra)
    want = (mspec.type, mspec.key_size, mspec.value_size, max_entries, mspec.flags,
            mspec.map_extra)
    if have != want:
        m.close()
        fields = "type key_size value_size max_entries flags map_extra".split()
        diff = ", ".join(f"{f} {h} != {w}" for f, h, w in zip(fields, have, want) if h != w)
        raise LoadError(f"{where}: pinned map at {path} is incompatible ({diff})")
    return m
