"""What an object argument of the `pybpf` command names: a file, or a gadget.

`pybpf explain trace_exec` and `pybpf load trace_exec PINDIR` take the name
of an installed gadget where a file is expected. The library does not know
the gadgets: the name is looked up in the ``pybpf.gadgets`` entry-point
group (each entry a gadget object), and the gadget says where its compiled
object is for this machine's architecture (``object_path()``: a file, or a
member of a zip archive, read as bytes). A file of that name wins.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Tuple, Union

from pybpf.errors import LoadError

GADGETS_GROUP = "pybpf.gadgets"


def gadget_object(name: str) -> Optional[Any]:
    """The object path an installed gadget ``name`` declares, or None when no
    gadget of that name is installed."""
    from pybpf.entrypoints import entry_points

    for ep in entry_points(GADGETS_GROUP):
        if ep.name == name:
            gadget = ep.load()
            where = getattr(gadget, "object_path", None)
            if where is None:
                raise LoadError(f"{name}: the gadget declares no object")
            return where()
    return None


def object_source(name: str) -> Tuple[Union[str, bytes], str]:
    """The object a file or the gadget called ``name`` names: (its path, or its bytes
    when it is a member of an archive; the name to show); LoadError in one line when
    it is neither."""
    if os.path.exists(name) or os.sep in name:  # a path: reading it says what is wrong
        return name, name
    path = gadget_object(name)
    if path is None:
        raise LoadError(f"{name}: no such file, and no installed gadget of that name "
                        "(pybpf list shows the gadgets)")
    if not path.exists():
        raise LoadError(f"{name}: the gadget's object {path} is missing")
    if isinstance(path, os.PathLike):
        return os.fspath(path), str(path)
    return path.read_bytes(), str(path)


def object_spec(name: str) -> Any:
    """The parsed object (ObjectSpec) of a file, or of the gadget called ``name``."""
    from pybpf.elf import ObjectSpec

    source, label = object_source(name)
    if isinstance(source, bytes):
        return ObjectSpec.from_bytes(source, label)
    return ObjectSpec.from_file(source)
