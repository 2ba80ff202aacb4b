"""perf_event_open(2), its attribute struct, the PERF_EVENT_IOC_* ioctls and
the perf ring mmap.

This module owns every perf-event system call pybpf makes: links use it for
tracepoint/kprobe/uprobe/sampling events, readers for BPF_OUTPUT rings.
"""
from __future__ import annotations

import ctypes
import fcntl
import mmap
import os

from pybpf.errors import syscall_error
from pybpf.records import Record
from pybpf.sys.cpus import parse_cpu_list
from pybpf.sys.fd import FD

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional

# perf_type_id
PERF_TYPE_HARDWARE = 0
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_TRACEPOINT = 2
PERF_TYPE_HW_CACHE = 3
PERF_TYPE_RAW = 4
PERF_TYPE_BREAKPOINT = 5

# perf_sw_ids
PERF_COUNT_SW_CPU_CLOCK = 0
PERF_COUNT_SW_TASK_CLOCK = 1
PERF_COUNT_SW_BPF_OUTPUT = 10

# perf_event_sample_format
PERF_SAMPLE_IP = 1 << 0
PERF_SAMPLE_TID = 1 << 1
PERF_SAMPLE_TIME = 1 << 2
PERF_SAMPLE_RAW = 1 << 10

# perf_event_type (records in the ring)
PERF_RECORD_LOST = 2
PERF_RECORD_SAMPLE = 9

# attr.flags bits
ATTR_DISABLED = 1 << 0
ATTR_INHERIT = 1 << 1
ATTR_EXCLUDE_USER = 1 << 4
ATTR_EXCLUDE_KERNEL = 1 << 5
ATTR_FREQ = 1 << 10
ATTR_WATERMARK = 1 << 14

# perf_event_open flags
PERF_FLAG_FD_CLOEXEC = 1 << 3

# ioctls: _IO('$', n) and _IOW('$', n, __u32)
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_SET_BPF = 0x40042408

# struct perf_event_mmap_page: offsets of the fields the readers use
MMAP_DATA_HEAD = 1024
MMAP_DATA_TAIL = 1032
MMAP_DATA_OFFSET = 1040
MMAP_DATA_SIZE = 1048

_SYSCALL_NR = {"x86_64": 298, "aarch64": 241, "arm64": 241}
_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


class PerfEventAttr(ctypes.Structure):
    """struct perf_event_attr (PERF_ATTR_SIZE_VER8, 136 bytes)."""

    _fields_ = [
        ("type", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("config", ctypes.c_uint64),
        ("sample_period", ctypes.c_uint64),   # or sample_freq when ATTR_FREQ
        ("sample_type", ctypes.c_uint64),
        ("read_format", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
        ("wakeup_events", ctypes.c_uint32),   # or wakeup_watermark (bytes)
        ("bp_type", ctypes.c_uint32),
        ("config1", ctypes.c_uint64),         # kprobe_func / uprobe_path
        ("config2", ctypes.c_uint64),         # probe_offset / probe_addr
        ("branch_sample_type", ctypes.c_uint64),
        ("sample_regs_user", ctypes.c_uint64),
        ("sample_stack_user", ctypes.c_uint32),
        ("clockid", ctypes.c_int32),
        ("sample_regs_intr", ctypes.c_uint64),
        ("aux_watermark", ctypes.c_uint32),
        ("sample_max_stack", ctypes.c_uint16),
        ("_reserved2", ctypes.c_uint16),
        ("aux_sample_size", ctypes.c_uint32),
        ("_reserved3", ctypes.c_uint32),
        ("sig_data", ctypes.c_uint64),
        ("config3", ctypes.c_uint64),
    ]


assert ctypes.sizeof(PerfEventAttr) == 136


class PerfEventSpec(Record):
    """The fields of perf_event_attr that pybpf sets; everything else is 0.

    ``name`` (kprobe function or uprobe path) is kept alive here while the
    syscall reads it through config1.
    """

    __slots__ = ("type", "config", "sample_period", "sample_type", "flags", "wakeup", "name",
                 "config2")

    type: int
    config: int
    sample_period: int
    sample_type: int
    flags: int
    wakeup: int
    name: Optional[bytes]
    config2: int

    def __init__(
            self,
            type: int,
            config: int = 0,
            sample_period: int = 0,
            sample_type: int = 0,
            flags: int = 0,
            wakeup: int = 0,
            name: Optional[bytes] = None,
            config2: int = 0,
    ) -> None:
        self.type = type
        self.config = config
        self.sample_period = sample_period
        self.sample_type = sample_type
        self.flags = flags
        self.wakeup = wakeup
        self.name = name
        self.config2 = config2


def _syscall_nr() -> int:
    machine = os.uname().machine
    try:
        return _SYSCALL_NR[machine]
    except KeyError:
        raise OSError(f"perf_event_open: unknown syscall number on {machine}") from None


def perf_event_open(spec: PerfEventSpec, pid: int = -1, cpu: int = 0, group_fd: int = -1,
                    flags: int = PERF_FLAG_FD_CLOEXEC, what: str = "") -> FD:
    """Open one perf event; returns an owned ``FD``.

    ``what`` names the hook for the error message (``"tracepoint sched/x"``).
    """
    attr = PerfEventAttr()
    attr.type = spec.type
    attr.size = ctypes.sizeof(PerfEventAttr)
    attr.config = spec.config
    attr.sample_period = spec.sample_period
    attr.sample_type = spec.sample_type
    attr.flags = spec.flags
    attr.wakeup_events = spec.wakeup
    name_buf = None
    if spec.name is not None:
        name_buf = ctypes.create_string_buffer(spec.name)
        attr.config1 = ctypes.addressof(name_buf)
    attr.config2 = spec.config2
    ret = _syscall(ctypes.c_long(_syscall_nr()), ctypes.byref(attr), ctypes.c_int(pid),
                   ctypes.c_int(cpu), ctypes.c_int(group_fd), ctypes.c_ulong(flags))
    if ret < 0:
        raise syscall_error("perf_event_open", ctypes.get_errno(), what)
    return FD(ret)


def _ioctl(fd: int, request: int, arg: int, name: str) -> None:
    try:
        fcntl.ioctl(fd, request, arg)
    except OSError as exc:
        raise syscall_error(name, exc.errno or 0) from None


def perf_event_ioc_enable(fd: int) -> None:
    """PERF_EVENT_IOC_ENABLE."""
    _ioctl(int(fd), PERF_EVENT_IOC_ENABLE, 0, "PERF_EVENT_IOC_ENABLE")


def perf_event_ioc_disable(fd: int) -> None:
    """PERF_EVENT_IOC_DISABLE."""
    _ioctl(int(fd), PERF_EVENT_IOC_DISABLE, 0, "PERF_EVENT_IOC_DISABLE")


def perf_event_ioc_set_bpf(fd: int, prog_fd: int) -> None:
    """PERF_EVENT_IOC_SET_BPF: attach a program the old way (pre-4.17 kernels, no link)."""
    _ioctl(int(fd), PERF_EVENT_IOC_SET_BPF, int(prog_fd), "PERF_EVENT_IOC_SET_BPF")


def perf_mmap(fd: int, data_pages: int) -> mmap.mmap:
    """Map the control page and ``data_pages`` (a power of two) data pages, read-write."""
    if data_pages <= 0 or data_pages & (data_pages - 1):
        raise ValueError(f"perf ring needs a power-of-two page count, got {data_pages}")
    size = (data_pages + 1) * mmap.PAGESIZE
    return mmap.mmap(int(fd), size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)


def online_cpus() -> List[int]:
    """CPUs listed in /sys/devices/system/cpu/online ("0-3,5")."""
    with open("/sys/devices/system/cpu/online") as fh:
        return parse_cpu_list(fh.read())


def pmu_type(name: str) -> Optional[int]:
    """The dynamic PMU type number of ``name`` (``"kprobe"``, ``"uprobe"``), or None."""
    try:
        with open(f"/sys/bus/event_source/devices/{name}/type") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def pmu_retprobe_bit(name: str) -> Optional[int]:
    """The config bit of ``retprobe`` in a kprobe/uprobe PMU's format ("config:0")."""
    try:
        with open(f"/sys/bus/event_source/devices/{name}/format/retprobe") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    _, _, bits = text.partition(":")
    try:
        return int(bits.split("-")[0])
    except ValueError:
        return None

