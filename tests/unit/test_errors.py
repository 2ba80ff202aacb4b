"""Error texts: one readable first line naming the fault."""
import errno
import os

from pybpf.cli import one_line
from pybpf.errors import (
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    SyscallError,
    VerifierError,
    errno_name,
    errno_text,
    syscall_error,
)

LOG_6X = (
    "0: R1=ctx() R10=fp0\n0: (95) exit\nR0 !read_ok\n"
    "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0\n"
)


def test_syscall_error_is_typed_and_names_the_command():
    err = syscall_error("BPF_MAP_CREATE", errno.EPERM)
    assert isinstance(err, PermissionDeniedError) and isinstance(err, OSError)
    assert err.errno == errno.EPERM and err.cmd == "BPF_MAP_CREATE"
    assert str(err).startswith("BPF_MAP_CREATE: Operation not permitted")
    assert isinstance(syscall_error("BPF_OBJ_GET", errno.ENOENT), NotFoundError)
    assert type(syscall_error("BPF_PROG_LOAD", errno.EXDEV)) is SyscallError


def test_verifier_summary_is_the_refusal_not_the_statistics():
    err = VerifierError("prog", errno.EACCES, LOG_6X)
    assert one_line(err) == "program 'prog' rejected by the kernel: Permission denied: R0 !read_ok"


def test_verifier_summary_skips_trailing_explanations():
    log = LOG_6X + "\nCausal path:\n  0: (95) exit\nSuggestion:\n  set R0 before exit\n"
    err = VerifierError("prog", errno.EACCES, log)
    assert one_line(err).endswith(": R0 !read_ok")
    assert "R0 !read_ok" in str(err) and "Suggestion" not in str(err)
    assert err.log == log


def test_empty_log_is_said():
    assert one_line(VerifierError("p", errno.EPERM, "")).endswith("empty verifier log")


def test_kernel_internal_errnos_are_named_in_messages():
    # 524 leaks out of BPF_RAW_TRACEPOINT_OPEN where a kernel has no
    # direct-call trampolines; libc has no text for it ("Unknown error 524")
    exc = syscall_error("BPF_RAW_TRACEPOINT_OPEN", 524)
    assert isinstance(exc, NotSupportedError)
    assert str(exc) == ("BPF_RAW_TRACEPOINT_OPEN: ENOTSUPP "
                        "(kernel errno 524: operation is not supported)")
    assert errno_name(527) == "EBADTYPE" and "EBADTYPE" in errno_text(527)
    assert errno_name(errno.ENOENT) == "ENOENT"
    assert errno_text(errno.ENOENT) == os.strerror(errno.ENOENT)
    assert "Unknown error" not in VerifierError("p", 524, "").summary()
    for err in range(512, 532):
        if err != 520:  # unassigned
            assert not errno_text(err).startswith("Unknown"), err
