"""Program: one loaded BPF program and the fd that keeps it alive.

``Program.load`` runs BPF_PROG_LOAD and, when the kernel refuses, loads again
with a verifier log (growing the buffer until the log fits) so that the
VerifierError carries the kernel's explanation and the first errno.
"""
from __future__ import annotations

import errno
import os

from pybpf.errors import SyscallError, VerifierError
from pybpf.sys import commands as cmds
from pybpf.sys.commands import object_name
from pybpf.sys.fd import FD
from pybpf.sys.info import ProgInfo, prog_info, prog_xlated_insns
from pybpf.sys.owner import FDOwner
from pybpf.sys.syscall import kernel_version_code
from pybpf.uapi import bpf_prog_type, name_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Sequence, Union

    from pybpf.maps import Map
    FDLike = Union[FD, int]


LOG_START = 64 * 1024
LOG_MAX = 16 * 1024 * 1024
_EAGAIN_RETRIES = 5


class Program(FDOwner):
    """A loaded program. Owns ``fd``; ``close()`` or ``with`` releases it.

    ``name`` is the full (unsanitised) name given at load; the kernel knows it
    by ``object_name(name)``. ``section`` and ``attach_to`` come from the ELF
    SEC name when the program was loaded from an object (empty otherwise).
    ``usdt_spec_map`` is the ``__bpf_usdt_specs`` map of its collection, for a
    program using libbpf's usdt.bpf.h (None otherwise; see pybpf.links.usdt).
    """

    def __init__(self, fd: FD, name: str, prog_type: int, expected_attach_type: int = 0,
                 section: str = "", attach_to: str = "", info: Optional[ProgInfo] = None,
                 verifier_log: str = "") -> None:
        self.fd = fd
        self.name = name
        self.prog_type = prog_type
        self.expected_attach_type = expected_attach_type
        self.section = section
        self.attach_to = attach_to
        self.verifier_log = verifier_log
        self._info = info
        self.pinned: Optional[str] = None
        self.usdt_spec_map: Optional[Map] = None

    # ------------------------------------------------------------ creation

    @classmethod
    def load(cls, name: str, prog_type: int, insns: bytes, license: str, *,
             expected_attach_type: int = 0, kernel_version: int = 0, flags: int = 0,
             btf_fd: Optional[FDLike] = None, func_info: bytes = b"",
             func_info_rec_size: int = 8, line_info: bytes = b"",
             line_info_rec_size: int = 16, attach_btf_id: int = 0,
             attach_btf_obj_fd: Optional[FDLike] = None,
             attach_prog_fd: Optional[FDLike] = None,
             fd_array: Optional[Sequence[FDLike]] = None, log_level: int = 0,
             section: str = "", attach_to: str = "") -> "Program":
        """BPF_PROG_LOAD ``insns`` (raw 8-byte slots). Raises VerifierError on refusal.

        With ``log_level`` > 0 the first load already asks for a log and the
        log of a successful load is kept in ``verifier_log``.
        """
        if prog_type == bpf_prog_type.KPROBE and not kernel_version:
            kernel_version = kernel_version_code()  # pre-5.0 kernels check it
        kwargs = dict(
            name=object_name(name), expected_attach_type=expected_attach_type,
            kern_version=kernel_version, flags=flags, btf_fd=btf_fd,
            func_info=func_info or None, func_info_rec_size=func_info_rec_size,
            line_info=line_info or None, line_info_rec_size=line_info_rec_size,
            attach_btf_id=attach_btf_id, attach_btf_obj_fd=attach_btf_obj_fd,
            attach_prog_fd=attach_prog_fd, fd_array=fd_array,
            detail=f"program {name!r}",
        )
        first_errno = 0
        log: Optional[cmds.LogBuffer] = None
        if log_level:
            log = cmds.LogBuffer(LOG_START, log_level)
        while True:
            try:
                fd = _load_retrying(prog_type, insns, license, log, kwargs)
            except SyscallError as exc:
                err = exc.errno or 0
                # an overflowing log says ENOSPC; keep the verifier's own errno
                if not first_errno and (log is None or err != errno.ENOSPC):
                    first_errno = err
                if log is None:
                    log = cmds.LogBuffer(LOG_START, 1)
                    continue
                grown = _grow(log, err)
                if grown is not None:
                    log = grown
                    continue
                first_errno = first_errno or err
                raise VerifierError(name, first_errno, log.text, _hint(err, log.text)) from None
            break
        text = log.text if log is not None and log_level else ""
        return cls(fd, name, prog_type, expected_attach_type, section, attach_to,
                   verifier_log=text)

    @classmethod
    def from_fd(cls, fd: FD, section: str = "", attach_to: str = "") -> "Program":
        """Wrap an owned program fd; type and name come from the kernel's prog_info."""
        try:
            info = prog_info(fd)
        except BaseException:
            fd.close()
            raise
        return cls(fd, info.name, info.type, 0, section, attach_to, info=info)

    @classmethod
    def from_pin(cls, path: Union[str, "os.PathLike[str]"]) -> "Program":
        """Open the program pinned at ``path``."""
        prog = cls.from_fd(cmds.obj_get(path))
        prog.pinned = os.fspath(path)
        return prog

    @classmethod
    def from_id(cls, prog_id: int) -> "Program":
        """Open the loaded program with kernel id ``prog_id``."""
        return cls.from_fd(cmds.prog_get_fd_by_id(prog_id))

    # ------------------------------------------------------------ kernel facts

    def info(self, refresh: bool = False) -> ProgInfo:
        """The kernel's prog_info (cached; ``refresh=True`` re-reads run counters)."""
        if self._info is None or refresh:
            self._info = prog_info(self.fd)
        return self._info

    @property
    def id(self) -> int:
        return self.info().id

    @property
    def tag(self) -> str:
        """The kernel's 8-byte program tag as hex (as bpftool prints it)."""
        return self.info().tag

    def xlated(self) -> bytes:
        """The instructions as the kernel rewrote them."""
        return prog_xlated_insns(self.fd)

    # ------------------------------------------------------------ operations

    def test_run(self, data: bytes = b"", repeat: int = 1, ctx: bytes = b"",
                 **kwargs: int) -> cmds.TestRunResult:
        """BPF_PROG_TEST_RUN: retval, mean duration in ns, output data and ctx."""
        return cmds.prog_test_run(self.fd, data, repeat, ctx or None,
                                  detail=f"program {self.name!r}", **kwargs)

    def __repr__(self) -> str:
        kind = name_of(bpf_prog_type, self.prog_type)
        return f"Program({self.name!r}, {kind}, {self._fd_state()})"


def _load_retrying(prog_type: int, insns: bytes, license: str,
                   log: Optional[cmds.LogBuffer], kwargs: Dict[str, Any]) -> FD:
    """prog_load, retrying EAGAIN (the verifier gives up under memory pressure)."""
    for attempt in range(_EAGAIN_RETRIES):
        try:
            return cmds.prog_load(prog_type, insns, license, log=log, **kwargs)
        except SyscallError as exc:
            if exc.errno != errno.EAGAIN or attempt == _EAGAIN_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _grow(log: cmds.LogBuffer, err: int) -> Optional[cmds.LogBuffer]:
    """A bigger log buffer when the last one overflowed (ENOSPC), else None."""
    if err != errno.ENOSPC or log.size >= LOG_MAX:
        return None
    if log.true_size > log.size:
        size = min(log.true_size, LOG_MAX)
    else:
        size = min(log.size * 2, LOG_MAX)
    return cmds.LogBuffer(size, log.level)


def _hint(err: int, log: str) -> str:
    if err == errno.EPERM and not log.strip():
        return "no verifier log: missing privilege or this program type/attach is blocked here"
    if err == errno.E2BIG and not log.strip():
        return "the load uses bpf_attr fields newer than this kernel"
    if err == errno.ENOSPC:
        return "verifier log truncated at 16 MiB"
    return ""
