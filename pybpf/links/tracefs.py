"""tracefs: tracepoint ids and the legacy kprobe_events/uprobe_events
interface (used when the kernel has no kprobe/uprobe PMU).

tracefs is found (or, for root, mounted) by pybpf.sys.mounts; only the hooks
that need it come here: classic tracepoints, legacy probe events.

Legacy probe events get a unique name (``pybpf_<pid>_<n>``, group
``pybpf``) and are removed when their link closes.
"""
from __future__ import annotations

import errno
import itertools
import os

from pybpf.errors import MissingHookError, syscall_error
from pybpf.sys import mounts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

GROUP = "pybpf"
_counter = itertools.count()


def root(why: str = "tracepoints") -> str:
    """The tracefs mount point (mounted now if root and absent; MissingHookError if not)."""
    try:
        return mounts.tracefs_root(why)
    except mounts.MountError as exc:
        raise MissingHookError(str(exc)) from None


def tracepoint_exists(category: str, name: str) -> bool:
    """Whether tracefs lists tracepoint CATEGORY:NAME (MissingHookError without tracefs)."""
    return os.path.exists(os.path.join(root(), "events", category, name, "id"))


def tracepoint_id(category: str, name: str) -> int:
    """The id of tracepoint CATEGORY:NAME; MissingHookError naming it if absent."""
    path = os.path.join(root(f"tracepoint {category}/{name}"), "events", category, name, "id")
    try:
        with open(path) as fh:
            return int(fh.read().strip())
    except FileNotFoundError:
        raise MissingHookError(f"tracepoint {category}/{name} does not exist on this kernel "
                               f"(no {path})") from None
    except OSError as exc:
        raise syscall_error(f"read {path}", exc.errno or errno.EIO,
                            f"tracepoint {category}/{name}") from None


def has_events_file(kind: str) -> bool:
    """Whether tracefs has ``kprobe_events`` / ``uprobe_events``."""
    try:
        return os.path.exists(os.path.join(root(), f"{kind}_events"))
    except MissingHookError:
        return False


def unique_event_name(hint: str) -> str:
    """A probe event name no other pybpf process or link uses."""
    clean = "".join(c if c.isalnum() else "_" for c in hint)[:32]
    return f"pybpf_{os.getpid()}_{next(_counter)}_{clean}"


def _write(kind: str, line: str, what: str) -> None:
    path = os.path.join(root(), f"{kind}_events")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except FileNotFoundError:
        raise MissingHookError(f"{what}: this kernel has no {path}") from None
    try:
        os.write(fd, line.encode())
    except OSError as exc:
        raise syscall_error(f"write {kind}_events", exc.errno or errno.EIO, what) from None
    finally:
        os.close(fd)


def add_probe_event(kind: str, event: str, retprobe: bool, location: str, what: str) -> int:
    """Create ``kprobe``/``uprobe`` event ``pybpf/<event>`` at ``location`` and
    return its tracepoint id."""
    _write(kind, f"{'r' if retprobe else 'p'}:{GROUP}/{event} {location}\n", what)
    try:
        return tracepoint_id(GROUP, event)
    except BaseException:
        remove_probe_event(kind, event)
        raise


def remove_probe_event(kind: str, event: str, what: Optional[str] = None) -> None:
    """Remove ``pybpf/<event>`` from ``kind``_events."""
    _write(kind, f"-:{GROUP}/{event}\n", what or f"{kind} event {event}")
