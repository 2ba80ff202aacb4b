"""Facts about the running kernel that externs ask for, handed to the linker at load time.

Reads the kernel config (/proc/config.gz, else /boot/config-$(uname -r)),
/proc/kallsyms and whether kprobes exist. These are plain files, read once per
process and cached; no bpf() call is made here. ``running_kernel`` bundles
them (with the version and the target BTF) as the pure linker's KernelFacts.
"""
from __future__ import annotations

import functools
import os
from typing import Callable, Dict, Optional

from pybpf.btf.spec import Spec
from pybpf.errors import LoadError
from pybpf.linker.externs import KernelFacts
from pybpf.sys.syscall import kernel_version_code

CONFIG_PATHS = ("/proc/config.gz", "/boot/config-{release}")
KALLSYMS = "/proc/kallsyms"
KPROBE_PMU = "/sys/bus/event_source/devices/kprobe"


def parse_config(text: str) -> Dict[str, str]:
    """``CONFIG_X=value`` lines of a kernel config; ``# CONFIG_X is not set`` reads as ``n``."""
    values: Dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("CONFIG_") and "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            values[line[2:-len(" is not set")]] = "n"
    return values


@functools.lru_cache(maxsize=None)
def kernel_config() -> Dict[str, str]:
    """The running kernel's config (LoadError if no config file is readable)."""
    release = os.uname().release
    for pattern in CONFIG_PATHS:
        path = pattern.format(release=release)
        try:
            if path.endswith(".gz"):
                import gzip  # deferred: only /proc/config.gz needs it (import cost)
                with gzip.open(path, "rt", errors="replace") as fh:
                    return parse_config(fh.read())
            with open(path, errors="replace") as fh:
                return parse_config(fh.read())
        except OSError:
            continue
    raise LoadError("kernel config not found: tried /proc/config.gz and "
                    f"/boot/config-{release} (needed by .kconfig externs)")


@functools.lru_cache(maxsize=None)
def kallsyms() -> Dict[str, int]:
    """Kernel symbol addresses from /proc/kallsyms (first address per name)."""
    out: Dict[str, int] = {}
    try:
        with open(KALLSYMS) as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and parts[2] not in out:
                    out[parts[2]] = int(parts[0], 16)
    except OSError as exc:
        raise LoadError(f"{KALLSYMS}: {exc.strerror} (needed by typeless __ksym externs)") from None
    return out


_SYSCALL_PREFIX = {"x86_64": "__x64_", "aarch64": "__arm64_", "s390x": "__s390x_",
                   "riscv64": "__riscv_", "ppc64le": "", "loongarch64": ""}


def has_syscall_wrapper() -> bool:
    """libbpf's answer: a kprobe on the arch wrapper (``__x64_sys_bpf`` ...) would attach.

    That needs the wrapper symbol and the kprobe PMU; without kprobes libbpf says
    no (ksyscall programs cannot attach anyway), and so does this.
    """
    prefix = _SYSCALL_PREFIX.get(os.uname().machine, "")
    if not prefix or not os.path.exists(KPROBE_PMU):
        return False
    return (prefix + "sys_bpf") in kallsyms()


def kallsyms_address(name: str) -> Optional[int]:
    return kallsyms().get(name)


def running_kernel(btf: Callable[[], Spec]) -> KernelFacts:
    """The running kernel's facts; ``btf()`` gives the BTF a load resolves against."""
    return KernelFacts(btf=btf, version=kernel_version_code, config=kernel_config,
                       has_syscall_wrapper=has_syscall_wrapper, address_of=kallsyms_address)
