"""Command line: ``python3 -m vmtests {run,fetch,list}``.

    python3 -m vmtests run 6.1 6.12              # the vm-marked subset on two kernels
    python3 -m vmtests run --all 5.10            # the whole suite
    python3 -m vmtests run -m "vm and not slow"  # another marker expression
    python3 -m vmtests run 7.x -- -q tests/unit  # any pytest arguments after --
    python3 -m vmtests run /boot/vmlinuz-X       # a kernel image on disk
    python3 -m vmtests run --arch arm64 6.1 6.12 # arm64 guests (default: 6.1 6.12)
    python3 -m vmtests fetch 5.10 6.1 6.12 7.x   # download and cache only
    python3 -m vmtests list                      # aliases and cached kernels
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import List

from . import kernels, runner
from .results import closing_line, table

DEFAULT_PYTEST = ["-q", "-m", "vm", "tests"]
ALL_PYTEST = ["-q", "tests"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m vmtests",
        description="Run pybpf's pytest suite inside qemu guests on other kernels.")
    sub = parser.add_subparsers(dest="command", required=True)
    kernels_help = (f"aliases {', '.join(kernels.ALIASES)}, a Debian suite, or a vmlinuz "
                    f"path (default: {' '.join(kernels.MATRIX)}; with --arch arm64: "
                    f"{' '.join(kernels.MATRIX_BY_ARCH['arm64'])})")
    arch_help = (f"guest architecture: {', '.join(kernels.ARCHES)} (default amd64; arm64 "
                 "guests run a Debian arm64 userland built in the cache)")

    run = sub.add_parser("run", help="boot kernels and run pytest in each",
                         description="Arguments after -- go to pytest "
                         f"(default: {' '.join(DEFAULT_PYTEST)}).")
    run.add_argument("kernels", nargs="*", help=kernels_help)
    run.add_argument("--arch", default=kernels.HOST_ARCH, help=arch_help)
    select = run.add_mutually_exclusive_group()
    select.add_argument("--all", action="store_true",
                        help=f"run the whole suite ({' '.join(ALL_PYTEST)}) instead of -m vm")
    select.add_argument("-m", "--mark", metavar="EXPR",
                        help="run the tests matching this marker expression (default: vm)")
    run.add_argument("-j", "--jobs", type=int, default=2, help="VMs at once (default 2)")
    run.add_argument("--cpus", type=int, default=1, help="vCPUs per VM (default 1)")
    run.add_argument("--memory", default="2G", help="guest memory (default 2G)")
    run.add_argument("--timeout", type=float, default=1800.0,
                     help="seconds one VM may run in all (default 1800)")
    run.add_argument("--boot-timeout", type=float, default=120.0,
                     help="seconds until the guest must start the job (default 120)")
    run.add_argument("--retries", type=int, default=1,
                     help="reboots of a VM that never reports (default 1)")
    run.add_argument("--python", default=sys.executable,
                     help="the host interpreter the guest runs (default: this one)")
    run.add_argument("--refresh", action="store_true",
                     help="look for newer kernel packages instead of using the cache")
    run.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VALUE",
                     help="set an environment variable for pytest in the guest (repeatable)")
    run.add_argument("-v", "--verbose", action="store_true", help="stream guest output")
    run.add_argument("--keep", action="store_true", help="keep run directories of passing kernels")
    run.add_argument("--no-preselect", dest="preselect", action="store_false",
                     help="let each guest collect the whole suite instead of the files "
                     "the host's collection selected")

    fetch = sub.add_parser("fetch", help="download and cache kernels without booting")
    fetch.add_argument("kernels", nargs="*", help=kernels_help)
    fetch.add_argument("--arch", default=kernels.HOST_ARCH, help=arch_help)
    fetch.add_argument("--refresh", action="store_true", help="look for newer packages")

    sub.add_parser("list", help="show aliases and cached kernels")
    return parser


def _split(argv: List[str]):
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, None


def cmd_run(args, pytest_args) -> int:
    if pytest_args is None:
        if args.all:
            pytest_args = ALL_PYTEST
        elif args.mark:
            pytest_args = ["-q", "-m", args.mark, "tests"]
        else:
            pytest_args = DEFAULT_PYTEST
    elif args.all or args.mark:
        print("vmtests: --all/-m and pytest arguments after -- do not mix", file=sys.stderr)
        return 2
    try:
        arch = kernels.arch_of(args.arch)
    except kernels.KernelError as exc:
        print(f"vmtests: {exc}", file=sys.stderr)
        return 2
    bad = [item for item in args.env if "=" not in item]
    if bad:
        print(f"vmtests: --env wants KEY=VALUE, not {bad[0]!r}", file=sys.stderr)
        return 2
    opts = runner.Options(pytest_args=["-rfEs", *pytest_args], jobs=args.jobs,
                          retries=args.retries, boot_timeout=args.boot_timeout,
                          timeout=args.timeout, memory=args.memory, cpus=args.cpus,
                          python=args.python, refresh=args.refresh, verbose=args.verbose,
                          keep=args.keep, preselect=args.preselect,
                          env=dict(item.split("=", 1) for item in args.env), arch=arch)
    # SIGTERM unwinds like Ctrl-C, so running VMs are killed, not orphaned.
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    results = runner.run(args.kernels or list(kernels.MATRIX_BY_ARCH[arch]), opts)
    print()
    print(table(results))
    print(f"{len(results)} kernels, {args.jobs} at a time, "
          f"{time.monotonic() - started:.0f} s wall clock")
    print(closing_line(results))
    return 0 if results and all(r.ok for r in results) else 1


def cmd_fetch(args) -> int:
    try:
        arch = kernels.arch_of(args.arch)
    except kernels.KernelError as exc:
        print(f"vmtests: {exc}", file=sys.stderr)
        return 2
    status = 0
    for name in args.kernels or kernels.MATRIX_BY_ARCH[arch]:
        try:
            kernel = kernels.get(name, refresh=args.refresh, arch=arch)
        except (kernels.KernelError, OSError) as exc:
            print(f"[{name}] {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{name}: {kernel.release} {kernel.version} in {kernel.dir}")
    return status


def cmd_list() -> int:
    print("aliases:")
    for alias, suites in kernels.ALIASES.items():
        print(f"  {alias:9} newest linux-image-ARCH of {', '.join(suites)}")
    print(f"suites: {', '.join(kernels.ARCHIVE_SUITES + kernels.SECURITY_SUITES)}")
    print(f"cache: {kernels.cache_root()}")
    for alias, kernel in kernels.cached():
        where = f"{kernel.release} {kernel.version}" if kernel else "(missing)"
        print(f"  {alias:9} {where}")
    return 0


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    ours, pytest_args = _split(list(sys.argv[1:] if argv is None else argv))
    args = _parser().parse_args(ours)
    if args.command == "run":
        return cmd_run(args, pytest_args)
    if pytest_args is not None:
        print("vmtests: arguments after -- are for run only", file=sys.stderr)
        return 2
    if args.command == "fetch":
        return cmd_fetch(args)
    return cmd_list()


if __name__ == "__main__":
    sys.exit(main())
