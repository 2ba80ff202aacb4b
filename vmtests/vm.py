"""Boot one kernel under qemu (TCG) and run a command list of pytest args in it.

Layout of a run directory (one per attempt)::

    initramfs.cpio   busybox, guest/init.sh as /init, the kernel's modules
    share/           9p tag "vmtests" -> guest /run/vmtests: run.sh, job.env,
                     junit.xml written by pytest
    port.in/.out     fifos of the virtio-serial port "pybpf.out" (guest stdout)
    console.log      the kernel's serial console (boot messages, panics)
    output.log       everything the guest printed on the port

The guest reports two marker lines on the port: ``@@vmtests booted ...`` once
the job starts and ``@@vmtests exit=RC ...`` when pytest is done.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

from .cpio import CpioWriter
from .kernels import Kernel

GUEST_DIR = Path(__file__).resolve().parent / "guest"
BUSYBOX = Path("/bin/busybox")
MARK = "@@vmtests "
HOST_EOF = b"@@vmtests-host-eof"


class VMError(Exception):
    """The VM could not be started."""


@dataclass
class Boot:
    """What one attempt to boot and run produced."""

    status: str = "no-report"  # ok, failed, no-report, init-failed, crashed, timeout, aborted
    exit_code: Optional[int] = None
    release: str = ""
    boot_s: Optional[float] = None   # qemu start -> job started in the guest
    run_s: Optional[float] = None    # job started -> pytest exited
    total_s: float = 0.0
    rundir: Optional[Path] = None
    detail: str = ""

    @property
    def never_started(self) -> bool:
        """The job never began: worth one more boot (early TCG panics happen)."""
        return self.status in ("no-report", "init-failed")


def busybox_path() -> Path:
    path = BUSYBOX if BUSYBOX.exists() else Path(shutil.which("busybox") or "")
    if not path.is_file():
        raise VMError("busybox missing: apt-get install busybox-static")
    with open(path, "rb") as fh:
        elf = fh.read(4096)
    if b"/lib64/ld-linux" in elf or b"/lib/ld-linux" in elf:
        raise VMError(f"{path} is dynamically linked: apt-get install busybox-static")
    return path


def build_initramfs(kernel: Kernel, out: Path, busybox: Optional[Path] = None) -> None:
    """``busybox``: a static busybox for the guest's architecture (default: the host's)."""
    with open(out, "wb") as fh:
        cpio = CpioWriter(fh)
        for d in ("bin", "dev", "etc", "proc", "sys", "lib", "lib/modules"):
            cpio.directory(d)
        cpio.chardev("dev/console", 5, 1)
        cpio.file("bin/busybox", (busybox or busybox_path()).read_bytes(), 0o755)
        cpio.symlink("bin/sh", "busybox")
        cpio.file("init", (GUEST_DIR / "init.sh").read_bytes(), 0o755)
        names = []
        for module in kernel.modules():
            cpio.file(f"lib/modules/{module.name}", module.read_bytes())
            names.append(module.stem)
        cpio.file("etc/vmtests-modules", "".join(n + "\n" for n in names).encode())
        cpio.close()


# Per architecture: qemu binary, machine and CPU, serial console. On arm64,
# plain "-cpu max" is ~4x slower: TCG emulates the pointer authentication
# cipher, pauth-impdef=on swaps it for a cheap implementation-defined one.
QEMU = {
    "amd64": ("qemu-system-x86_64", ["-machine", "q35", "-cpu", "max"], "ttyS0"),
    "arm64": ("qemu-system-aarch64", ["-machine", "virt", "-cpu", "max,pauth-impdef=on"],
              "ttyAMA0"),
}


def qemu_argv(kernel: Kernel, rundir: Path, checkout: Path, memory: str, cpus: int,
              root: Path = Path("/")) -> List[str]:
    """``root``: the directory the guest mounts as its / (the host's own for amd64)."""
    binary, machine, console = QEMU[kernel.arch]
    cmdline = " ".join([
        f"console={console}", "panic=-1", "loglevel=4", "rdinit=/init",
        "mitigations=off", "nokaslr", "sysctl.kernel.panic_on_oops=1",
    ])
    fsdev = "local,security_model=none,multidevs=remap"
    return [
        shutil.which(binary) or binary,
        "-accel", "tcg,thread=multi", *machine,
        "-smp", str(cpus), "-m", memory,
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-kernel", str(kernel.vmlinux), "-initrd", str(rundir / "initramfs.cpio"),
        "-append", cmdline,
        "-chardev", f"file,id=con,path={rundir / 'console.log'}", "-serial", "chardev:con",
        "-device", "virtio-serial-pci",
        "-chardev", f"pipe,id=port,path={rundir / 'port'}",
        "-device", "virtserialport,chardev=port,name=pybpf.out",
        "-fsdev", f"{fsdev},id=hostroot,path={root},readonly=on",
        "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
        "-fsdev", f"{fsdev},id=checkout,path={checkout}",
        "-device", "virtio-9p-pci,fsdev=checkout,mount_tag=checkout",
        "-fsdev", f"{fsdev},id=vmtests,path={rundir / 'share'}",
        "-device", "virtio-9p-pci,fsdev=vmtests,mount_tag=vmtests",
        "-nic", "none",
    ]


def write_job(share: Path, checkout: Path, python: str, pytest_args: List[str],
              files: Optional[List[str]] = None,
              extra_env: Optional[Dict[str, str]] = None) -> None:
    env = {
        "CHECKOUT": str(checkout),
        "PYTHON": python,
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYBPF_VMTESTS_GUEST": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra_env or {})
    args = ["-p", "no:cacheprovider", "--junitxml=/run/vmtests/junit.xml"]
    if files is not None:
        (share / "files.txt").write_text("".join(str(checkout / f) + "\n" for f in files))
        env["PYBPF_VMTESTS_FILES"] = "/run/vmtests/files.txt"
        args += ["-p", "vmtests.guest_filter"]
    args += pytest_args
    lines = [f"export {key}={shlex.quote(value)}" for key, value in env.items()]
    lines.append("set -- " + " ".join(shlex.quote(a) for a in args))
    (share / "job.env").write_text("\n".join(lines) + "\n")
    shutil.copy(GUEST_DIR / "run.sh", share / "run.sh")


def write_checkout_install(pylib: Path, checkout: Path) -> None:
    """What ``pip install -e`` of the checkout gives, for a guest with its own
    userland: ``pybpf_gadgets`` (the checkout's gadgets/ under its installed
    name) and the distribution's entry points, on the guest's PYTHONPATH."""
    pylib.mkdir(parents=True, exist_ok=True)
    (pylib / "pybpf_gadgets").symlink_to(checkout / "gadgets")
    try:
        import tomllib
    except ImportError:  # Python < 3.11 on the host: no entry points in the guest
        return
    project = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]
    info = pylib / f"{project['name']}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\n"
                                   f"Version: {project['version']}\n")
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()) + "\n"
        for group, entries in groups.items()))


def _parse_mark(line: str) -> dict:
    out = {}
    for word in line[len(MARK):].split():
        key, _, value = word.partition("=")
        out[key] = value
    return out


def boot(kernel: Kernel, rundir: Path, checkout: Path, pytest_args: List[str], *,
         python: str = sys.executable, memory: str = "2G", cpus: int = 1,
         boot_timeout: float = 120.0, timeout: float = 1800.0,
         files: Optional[List[str]] = None,
         env: Optional[Dict[str, str]] = None,
         echo: Optional[Callable[[str], None]] = None,
         abort: Optional[threading.Event] = None,
         root: Optional[Path] = None) -> Boot:
    """Boot ``kernel`` once, run pytest in it, and wait for its report.

    ``files``: the test files the host's collection selected (see
    guest_filter); None lets the guest collect everything itself. Setting
    ``abort`` stops the VM at once (status "aborted"). ``root``: a userland
    of the guest's architecture to mount as / (see userland); None shares
    the host's / and runs the host's ``python``.
    """
    if rundir.exists():
        shutil.rmtree(rundir)
    share = rundir / "share"
    share.mkdir(parents=True)
    if root is None:
        build_initramfs(kernel, rundir / "initramfs.cpio")
        write_job(share, checkout, os.path.abspath(python), pytest_args, files, env)
    else:
        build_initramfs(kernel, rundir / "initramfs.cpio", root / "bin" / "busybox")
        write_checkout_install(share / "pylib", checkout)
        guest_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                     "PYTHONPATH": "/run/vmtests/pylib", **(env or {})}
        write_job(share, checkout, python, pytest_args, files, guest_env)
    for suffix in (".in", ".out"):
        os.mkfifo(rundir / f"port{suffix}")
    result = Boot(rundir=rundir)
    argv = qemu_argv(kernel, rundir, checkout, memory, cpus, root or Path("/"))
    (rundir / "qemu.cmd").write_text(shlex.join(argv) + "\n")
    started = time.monotonic()
    booted_at: List[float] = []
    exited_at: List[float] = []
    done = threading.Event()
    with open(rundir / "qemu.log", "wb") as qlog:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=qlog,
                                stderr=subprocess.STDOUT)
    # O_RDWR keeps the open from blocking and the fifo from reporting EOF
    # before qemu has opened its end.
    fd = os.open(rundir / "port.out", os.O_RDWR)

    def reader() -> None:
        # Reads until the host's own end-of-stream line, so nothing the guest
        # wrote before qemu exited is lost.
        with open(fd, "rb", buffering=0) as port, open(rundir / "output.log", "wb") as log:
            pending = b""
            while True:
                chunk = port.read(65536)
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    if raw == HOST_EOF:
                        return
                    log.write(raw + b"\n")
                    log.flush()
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    if line.startswith(MARK):
                        fields = _parse_mark(line)
                        if "booted" in fields:
                            booted_at.append(time.monotonic())
                            result.release = fields.get("release", "")
                        elif "exit" in fields:
                            result.exit_code = int(fields["exit"])
                            exited_at.append(time.monotonic())
                            done.set()
                        elif "init-failed" in fields:
                            result.status = "init-failed"
                            result.detail = line[len(MARK):]
                    elif echo:
                        echo(line)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if abort is not None and abort.is_set():
                result.status = "aborted"
                result.detail = "interrupted on the host"
                break
            if not booted_at and now - started > boot_timeout:
                result.status = "no-report"
                result.detail = f"no job start within {boot_timeout:.0f} s"
                break
            if now - started > timeout:
                result.status = "timeout"
                result.detail = f"still running after {timeout:.0f} s"
                break
            if done.is_set():
                # Give the guest a moment to power off by itself.
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pass
                break
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        # qemu is gone: end the stream for the reader (it holds the read end).
        poke = os.open(rundir / "port.out", os.O_WRONLY | os.O_NONBLOCK)
        os.write(poke, b"\n" + HOST_EOF + b"\n")
        os.close(poke)
        thread.join(timeout=10)
    end = time.monotonic()
    result.total_s = end - started
    if booted_at:
        result.boot_s = booted_at[0] - started
    if result.exit_code is not None:
        result.run_s = exited_at[0] - booted_at[0] if booted_at else None
        result.status = "ok" if result.exit_code == 0 else "failed"
    elif result.status == "no-report" and booted_at:
        # The job started, then the guest died: a kernel crash (oops panics
        # the guest) or an OOM kill, not a flaky boot. Its console says which.
        result.status = "crashed"
        result.detail = f"guest died {end - booted_at[0]:.0f} s into the run (see console.log)"
    elif result.status == "no-report" and not result.detail:
        result.detail = f"qemu exited ({proc.returncode}) without a report"
    return result
