"""`pybpf load OBJ PINDIR`: load every program of an object and pin it, as
`bpftool prog loadall` does. OBJ is a file, or an installed gadget's name
(`pybpf load trace_exec /sys/fs/bpf/x`: its object for this architecture).

Programs are pinned at PINDIR/<function name>, maps (with --pinmaps DIR)
at DIR/<map name> (see pin_name). ``--type NAME`` forces every program's type as if its
section were NAME (e.g. ``xdp``, ``tracepoint``). Before anything is created,
PINDIR (and DIR) must be on a BPF file system: under /sys/fs/bpf, which a root
process mounts if it is missing (saying so), or where bpffs was mounted by
hand; a path with a ``..`` component is refused. On any failure nothing is
left behind: pins made are removed, directories this command created are
removed, and the loaded objects are closed.
"""
from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any, Callable, List

from pybpf.errors import BPFError, LoadError

if TYPE_CHECKING:
    from pybpf.elf.specs import MapSpec


def _make_dir(path: str, created: List[str]) -> None:
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path.rstrip("/"))
    for p in reversed(missing):
        os.mkdir(p)
        created.append(p)


def _nearest_existing(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.exists(path) and path != "/":
        path = os.path.dirname(path)
    return path


def check_pin_dir(path: str, obj: str) -> None:
    """Refuse a pin directory that is not (or would not be) on bpffs, or that has '..'."""
    from pybpf.sys import mounts

    if ".." in path.split("/"):
        raise LoadError(f"{obj}: {path}: '..' is not allowed in a pin directory; "
                        f"give the path without it")
    full = os.path.abspath(path)
    if full == mounts.BPFFS_DIR or full.startswith(mounts.BPFFS_DIR + "/"):
        try:
            mounts.ensure_bpffs(f"{obj}: pinning under {mounts.BPFFS_DIR}")
        except mounts.MountError as exc:
            raise LoadError(str(exc)) from None
    if not mounts.is_bpffs(_nearest_existing(full)):
        raise LoadError(f"{obj}: {path} is not on a BPF file system (bpffs): pin under "
                        f"{mounts.BPFFS_DIR}, or first run: mount -t bpf bpf DIR")


def pin_name(mspec: MapSpec) -> str:
    """libbpf's pin file name for a map: global data maps by their kernel name
    (`obj.rodata`), others by their own; bpffs refuses '.', so it becomes '_'."""
    name: str = mspec.kernel_name if mspec.is_global_data else mspec.name
    return name.replace(".", "_")


def load_and_pin(obj: str, pindir: str, pinmaps: str = "", prog_type: str = "") -> List[str]:
    """Load ``obj`` and pin its programs (and maps); returns the pins made."""
    from pybpf.collection import load
    from pybpf.prepared import prepare

    from .objects import object_source, object_spec

    for path in (pindir, pinmaps):
        if path:
            check_pin_dir(path, obj)
    if prog_type:
        spec: Any = _retyped(object_spec(obj), obj, prog_type)
    else:  # through the prepared cache
        source, label = object_source(obj)
        spec = prepare(source, name=label)
    pins: List[str] = []
    dirs: List[str] = []
    coll = load(spec)
    try:
        _make_dir(pindir, dirs)
        for name, prog in coll.programs.items():
            path = os.path.join(pindir, name)
            prog.pin(path)
            pins.append(path)
        if pinmaps and coll.maps:  # like libbpf: no maps, no directory
            _make_dir(pinmaps, dirs)
            for name, m in coll.maps.items():
                path = os.path.join(pinmaps, pin_name(spec.maps[name]))
                m.pin(path)
                pins.append(path)
    except BaseException:
        for path in reversed(pins):
            _remove(path, os.unlink)
        for path in reversed(dirs):
            _remove(path, os.rmdir)
        raise
    finally:
        coll.close()
    return pins


def _retyped(spec: Any, obj: str, prog_type: str) -> Any:
    """``spec`` with every program's type forced (``--type``)."""
    from pybpf.elf import find_sec_def  # only here: the object is edited, so parsed cold

    row = find_sec_def(prog_type)
    if row is None:
        raise LoadError(f"{obj}: unknown program type {prog_type!r}")
    for prog_spec in spec.programs.values():
        prog_spec.sec_def = row
        prog_spec.prog_type = int(row.prog_type)
        prog_spec.expected_attach_type = row.expected_attach_type
        prog_spec.flags = row.prog_flags
    return spec


def _remove(path: str, how: Callable[[str], None]) -> None:
    try:
        how(path)
    except OSError:
        pass


def run(args: argparse.Namespace) -> int:
    try:
        load_and_pin(args.object, args.pindir, args.pinmaps or "", args.type or "")
    except BPFError:
        raise
    except OSError as exc:  # directories: name the path at fault
        raise LoadError(f"{args.object}: {exc.filename or args.pindir}: {exc.strerror}") from None
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("load", help="load an object's programs and pin them "
                                           "(as bpftool prog loadall)")
    p.add_argument("object", metavar="OBJ", help="BPF ELF object (clang -target bpf), or a "
                                                 "gadget name (trace_exec)")
    p.add_argument("pindir", metavar="PINDIR", help="bpffs directory for the programs' pins")
    p.add_argument("--pinmaps", metavar="DIR", help="also pin every map under DIR")
    p.add_argument("--type", metavar="NAME", help="program type for every program, named as a "
                                                  "SEC() prefix (xdp, tracepoint, ...)")
    p.set_defaults(func=run)
