"""Human forms of kernel values."""
import os

from pybpf_gadgets.common import formats as f


def test_open_flags():
    assert f.open_flags(os.O_RDONLY | os.O_CLOEXEC) == "O_RDONLY|O_CLOEXEC"
    assert f.open_flags(os.O_WRONLY | os.O_CREAT | os.O_TRUNC) == "O_WRONLY|O_CREAT|O_TRUNC"
    assert f.open_flags(os.O_RDWR | os.O_SYNC) == "O_RDWR|O_SYNC"
    assert f.open_flags(os.O_RDONLY | os.O_TMPFILE) == "O_RDONLY|O_TMPFILE"
    assert f.open_flags(os.O_PATH | os.O_DIRECTORY) == "O_RDONLY|O_DIRECTORY|O_PATH"


def test_errno_and_signals_and_caps():
    assert f.errno_name(-2) == "ENOENT"
    assert f.errno_name(0) == ""
    assert f.signal_name(9) == "SIGKILL"
    assert f.signal_name(0) == "0"
    assert f.signal_name(35).startswith("SIGRT")
    assert f.capability_name(21) == "CAP_SYS_ADMIN"
    assert f.capability_name(39) == "CAP_BPF"
    assert f.file_mode(0o644) == "0644"
    assert f.family_name(10) == "AF_INET6"
