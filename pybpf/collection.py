"""Load an object into the kernel: BTF, maps, global data, programs.

``load(obj)`` takes a PreparedObject (pybpf.prepared: linked, relocated and
sanitized for this kernel), a path (prepared first, through the prepared
cache) or an ObjectSpec (prepared cold). It runs the kernel half of libbpf's
sequence with the syscall layer alone: the object's BTF loaded, maps created
or reused from their pins, global data written and `.rodata`/`.kconfig`
frozen, map-in-map slots filled, each program loaded with its maps' fds,
program-array slots filled, struct_ops values built. Any failure closes
everything made so far and removes the pins it created; a prepared object
read from the cache that fails to load is prepared cold and loaded again, so
a refusal is explained as a cold load explains it. A Collection owns the
resulting maps and programs.
"""
from __future__ import annotations

import os

from pybpf.errors import BPFError, LoadError, SyscallError, VerifierError
from pybpf.maps import Map
from pybpf.prepared import PreparedMap, PreparedObject, PreparedProgram, prepare
from pybpf.programs import Program
from pybpf.sys import commands as cmds
from pybpf.sys.fd import FD
from pybpf.uapi import bpf_map_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Union

    from pybpf.core.kernel import Target
    from pybpf.elf.reader import ObjectSpec
    from pybpf.links.base import Link, LinkGroup

DEFAULT_PIN_ROOT = "/sys/fs/bpf"
ZERO_KEY = b"\0\0\0\0"
# Map types the kernel refuses BTF key/value ids for (libbpf drops them too).
_NO_BTF_TYPES = frozenset({
    bpf_map_type.PERF_EVENT_ARRAY, bpf_map_type.CGROUP_ARRAY, bpf_map_type.STACK_TRACE,
    bpf_map_type.ARRAY_OF_MAPS, bpf_map_type.HASH_OF_MAPS, bpf_map_type.DEVMAP, bpf_map_type.DEVMAP_HASH,
    bpf_map_type.CPUMAP, bpf_map_type.XSKMAP, bpf_map_type.SOCKMAP, bpf_map_type.SOCKHASH, bpf_map_type.QUEUE,
    bpf_map_type.STACK,
})

PIN_BY_NAME = 1  # LIBBPF_PIN_BY_NAME
USDT_SPECS_MAP = "__bpf_usdt_specs"  # pybpf.elf.specs names it too (pybpf.links.usdt)

class Collection:
    """The maps and programs of one loaded object; ``close()`` releases them all."""

    def __init__(self, spec: PreparedObject) -> None:
        self.spec = spec
        self.maps: Dict[str, Map] = {}
        self.programs: Dict[str, Program] = {}
        self.btf_fd: Optional[FD] = None
        self.btf_error = ""  # why the object's BTF was not loaded (libbpf continues without)
        self._created_pins: List[str] = []
        # struct_ops map name -> (value to register, through a BPF link?)
        self._struct_ops: Dict[str, Tuple[bytes, bool]] = {}

    def attach_all(self) -> LinkGroup:
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

    def attach_struct_ops(self, name: str) -> Link:
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


def load(obj: Union[PreparedObject, ObjectSpec, str, "os.PathLike[str]"], *, btf: Target = None,
         pin_root: Optional[Union[str, "os.PathLike[str]"]] = None, log_level: int = 0,
         programs: Optional[List[str]] = None) -> Collection:
    """Load an object (PreparedObject, ObjectSpec or path) and return its Collection.

    ``btf`` is the target BTF for CO-RE and kernel BTF lookups: a btf.Spec, a
    path to a BTF/ELF file, or None for the running kernel's. ``pin_root`` is the directory of LIBBPF_PIN_BY_NAME
    maps (default /sys/fs/bpf). ``programs`` limits which programs load
    (default: every program not marked SEC("?...")).
    """
    if isinstance(obj, PreparedObject):
        prepared = obj
        if programs is not None:
            missing = [n for n in programs if n not in obj.programs]
            if missing:
                raise LoadError(f"{obj.name}: no program named {missing[0]!r}")
            prepared = obj.replace(programs={n: obj.programs[n] for n in programs})
    elif isinstance(obj, (str, os.PathLike)):
        prepared = prepare(obj, programs=programs, btf=btf)
    else:  # an ObjectSpec, maybe edited by the caller: prepared cold, not cached
        from pybpf.preparer import prepare_spec  # the cold path (ELF, BTF, CO-RE)
        prepared = prepare_spec(obj, btf, programs)
    pin_root = os.fspath(pin_root) if pin_root else DEFAULT_PIN_ROOT
    try:
        return _load(prepared, pin_root, log_level)
    except BPFError:
        if prepared.rebuild is None:
            raise
    return _load(prepared.rebuild(), pin_root, log_level)  # a cached entry that failed


def _load(prepared: PreparedObject, pin_root: str, log_level: int) -> Collection:
    loader = _Loader(prepared, pin_root, log_level)
    try:
        loader.run()
    except BaseException:
        loader.coll._abort()
        raise
    return loader.coll


class _Loader:
    def __init__(self, prepared: PreparedObject, pin_root: str, log_level: int) -> None:
        self.obj = prepared
        self.coll = Collection(prepared)
        self.pin_root = pin_root
        self.log_level = log_level
        self.reused: Set[str] = set()

    def run(self) -> None:
        obj, coll = self.obj, self.coll
        self._load_btf()
        self._create_maps()
        self._type_maps()
        self._fill_maps(lambda m: m.type != bpf_map_type.PROG_ARRAY)
        for name, prog in obj.programs.items():
            coll.programs[name] = self._load_program(prog)
            self._bind_rodata(coll.programs[name])
            if prog.uses_usdt_specs:
                coll.programs[name].usdt_spec_map = coll.maps[USDT_SPECS_MAP]
        self._fill_maps(lambda m: m.type == bpf_map_type.PROG_ARRAY)
        if obj.origin is not None and obj.origin.needs_origin:
            coll._struct_ops = obj.origin.struct_ops_values(
                {name: int(p.fd) for name, p in coll.programs.items()})

    # -- BTF ---------------------------------------------------------------------------------

    def _load_btf(self) -> None:
        data = self.obj.btf_load
        if data is None:
            return
        try:
            self.coll.btf_fd = cmds.btf_load(data, detail=f"{self.obj.name}: .BTF")
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
        for name, mspec in self.obj.maps.items():
            where = f"{self.obj.name}: map {name!r}"
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
                kind = "struct_ops map" if mspec.type == bpf_map_type.STRUCT_OPS else "map"
                raise LoadError(f"{self.obj.name}: {kind} {name!r}: {exc}") from exc
            self.coll.maps[name] = m
            if mspec.pinning == PIN_BY_NAME:
                path = os.path.join(self.pin_root, name)
                try:
                    m.pin(path)
                except SyscallError as exc:
                    raise LoadError(f"{where}: pinning at {path}: {exc}") from exc
                self.coll._created_pins.append(path)

    def _type_maps(self) -> None:
        """Keys and values typed by the object's BTF (parsed and decoded on first use)."""
        if self.obj.btf_bytes is None:
            return
        for name, m in self.coll.maps.items():
            mspec = self.obj.maps[name]
            m.set_btf(_ObjectBTF(self.obj), mspec.key_type_id, mspec.value_type_id)

    def _fill_maps(self, which: Callable[[PreparedMap], bool]) -> None:
        for name, mspec in self.obj.maps.items():
            if name in self.reused or not which(mspec):
                continue
            m = self.coll.maps[name]
            where = f"{self.obj.name}: map {name!r}"
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

    def _element(self, mspec: PreparedMap, key: Any,
                 value: Any) -> Optional[Tuple[bytes, bytes]]:  # Any: as contents holds them
        """Key and value bytes of an initial element; None for a program slot whose
        program was not asked for (``load(programs=...)``)."""
        if isinstance(value, str):  # a slot naming a program or a map
            pool = self.coll.programs if mspec.type == bpf_map_type.PROG_ARRAY else self.coll.maps
            if value not in pool:
                return None
            value = int(pool[value].fd).to_bytes(4, "little")
        if isinstance(key, int):
            key = key.to_bytes(mspec.key_size, "little")
        return key, bytes(value)

    # -- programs ----------------------------------------------------------------------------

    def _bind_rodata(self, prog: Program) -> None:
        """Bind every `.rodata*` map to the program, as libbpf does, whether the program reads
        it or not: tools find `bpf_metadata_*` constants through the program's maps. Best
        effort, as in libbpf: a kernel without BPF_PROG_BIND_MAP (before 5.10) says EINVAL and
        the program keeps only the maps it references."""
        for name, mspec in self.obj.maps.items():
            if mspec.section == ".rodata" or mspec.section.startswith(".rodata."):
                try:
                    cmds.prog_bind_map(prog.fd, self.coll.maps[name].fd)
                except SyscallError:
                    return

    def _load_program(self, prog: PreparedProgram) -> Program:
        fds = {name: int(m.fd) for name, m in self.coll.maps.items()}
        missing = [m for _, m in prog.map_slots if m not in fds]
        if missing:
            raise LoadError(f"program {prog.name!r}: map {missing[0]!r} was not created")
        btf_fd = self.coll.btf_fd
        try:
            return Program.load(
                prog.name, prog.prog_type, bytes(prog.image(fds)), prog.license,
                expected_attach_type=prog.expected_attach_type,
                kernel_version=prog.kernel_version, flags=prog.flags, btf_fd=btf_fd,
                func_info=bytes(prog.func_info) if btf_fd else b"", func_info_rec_size=8,
                line_info=bytes(prog.line_info) if btf_fd else b"", line_info_rec_size=16,
                attach_btf_id=prog.attach_btf_id, log_level=self.log_level,
                section=prog.section, attach_to=prog.attach_to)
        except VerifierError as exc:
            better = None if self.obj.origin is None else self.obj.origin.refusal(prog.name, exc)
            if better is None:
                raise
            raise better from exc


class _ObjectBTF:
    """A prepared object's BTF for typing its maps: parsed when a map first decodes."""

    def __init__(self, obj: PreparedObject) -> None:
        self.obj = obj

    def __call__(self) -> Any:
        return self.obj.btf


def _kernel_spec(mspec: PreparedMap) -> PreparedMap:
    """The spec as Map.create sees it: named as the kernel knows it."""
    return mspec.replace(name=mspec.kernel_name)


def _reuse_pinned(where: str, mspec: PreparedMap, path: str) -> Map:
    try:
        m = Map.from_pin(path)
    except BPFError as exc:
        raise LoadError(f"{where}: cannot reuse pin {path}: {exc}") from exc
    max_entries = mspec.max_entries
    if mspec.type == bpf_map_type.PERF_EVENT_ARRAY and not max_entries:
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
