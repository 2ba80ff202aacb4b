"""Build ``pybpf.pyz``: pybpf, its gadgets, their objects, pyelftools and
construct in one file that runs with nothing but a Python 3.9+ interpreter.

    python3 tools/build_pyz.py [-o dist/pybpf.pyz]

pyelftools and construct come from the package index through pip, as the
wheels pip picks for the oldest supported Python (3.9: pyelftools 0.33
needs 3.10, so 0.32), with their licences. The archive holds what the wheel
holds (setup.py's build_py: packages and the gadget objects, no test
fixtures, the console script's pybpf_launch), the package metadata
(egg_info: the entry points through which `pybpf run` finds the gadgets),
bytecode for
the building interpreter's version beside each module (zipimport never
compiles into the archive: without it every start compiles everything;
other versions compile the source as before) and a ``__main__`` that is
the `pybpf` command:

    python3 pybpf.pyz run trace_exec -o json
    python3 -I -S pybpf.pyz list        # isolated from anything installed
"""
from __future__ import annotations

import argparse
import compileall
import py_compile
import subprocess
import sys
import tempfile
import zipapp
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPENDENCIES = ("pyelftools", "construct")
OLDEST_PYTHON = "3.9"
MAIN = """\
import sys

from pybpf_launch import main

sys.exit(main())
"""


def _setup(*args: str) -> None:
    subprocess.run([sys.executable, "setup.py", "-q", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def _dependencies(into: Path) -> None:
    """The runtime dependencies' wheels for the oldest supported Python, unpacked."""
    with tempfile.TemporaryDirectory(prefix="pybpf-pyz-wheels-") as wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "--python-version", OLDEST_PYTHON,
                        "-d", wheels, *DEPENDENCIES], check=True)
        for wheel in sorted(Path(wheels).glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(into)


def build(output: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="pybpf-pyz-") as tmp:
        stage = Path(tmp) / "app"
        _setup("build_py", "--build-lib", str(stage))
        _setup("egg_info", "--egg-base", str(stage))
        _dependencies(stage)
        (stage / "__main__.py").write_text(MAIN)
        # bytecode beside each module (zipimport reads no __pycache__ and cannot write
        # one): this Python starts from it; another version's interpreter finds the
        # magic number differs and compiles the source, as before. Unchecked: an
        # archive's sources cannot change under it, and a timestamp check costs
        # zipimport a look at the source's entry and a localtime() per module
        compileall.compile_dir(str(stage), quiet=1, legacy=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        output.parent.mkdir(parents=True, exist_ok=True)
        # deflated: stored entries start ~20 ms sooner (zipimport inflates each module
        # it imports) but make an archive of 6.6 MiB instead of 2.4, and the archive
        # is what is copied onto hosts and into images
        zipapp.create_archive(stage, output, interpreter="/usr/bin/env python3",
                              compressed=True)
    return output


def main() -> int:
    parser = argparse.ArgumentParser(description="build the pybpf.pyz zipapp")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "dist" / "pybpf.pyz")
    args = parser.parse_args()
    path = build(args.output.resolve())
    print(f"{path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
