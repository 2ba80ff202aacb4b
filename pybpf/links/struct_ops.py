"""struct_ops: register a struct_ops map (a TCP congestion control, a sched_ext scheduler).

``attach_struct_ops(map, value, link=True)`` writes the map's value (the
kernel's wrapper struct with program fds in its function pointers, from
pybpf.linker.struct_ops) and registers it: through BPF_LINK_CREATE for maps
created with BPF_F_LINK (``.struct_ops.link``, Linux 6.4+), whose Link
unregisters when closed; otherwise the update itself registers it (Linux
5.6+) and closing the Link deletes the element, which unregisters it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf import sys as bpfsys
from pybpf.errors import LinkError, SyscallError
from pybpf.links.base import Link
from pybpf.sys import commands as cmds
from pybpf.uapi import bpf_attach_type

if TYPE_CHECKING:
    from pybpf.maps import Map

_KEY = b"\0\0\0\0"


def attach_struct_ops(m: Map, value: bytes, link: bool = True) -> Link:
    """Register struct_ops map ``m`` with ``value``; the returned Link unregisters it."""
    what = f"struct_ops {m.name}"
    try:
        cmds.map_update_elem(m.fd, _KEY, value, detail=what)
    except SyscallError as exc:
        raise LinkError(f"cannot register {what}: {exc}") from None
    if not link:
        out = Link("struct_ops", m.name, "")
        def unregister() -> None:
            cmds.map_delete_elem(m.fd, _KEY, what)

        out.on_close(unregister)
        return out
    try:
        lfd = bpfsys.link_create(m.fd, 0, bpf_attach_type.STRUCT_OPS, detail=what)
    except SyscallError as exc:
        raise LinkError(f"cannot register {what}: {exc}") from None
    return Link("struct_ops", m.name, "", lfd)
