"""The prepared-object cache against the real kernel: a warm load is the cold load
(same programs as the kernel translated them), an entry that is not trustworthy is
ignored and rebuilt, and a warm start parses no ELF (no pyelftools imported)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_cache_trust import _env  # the cache home (None: no cache) for a child

from pybpf import cachedir

ROOT = Path(__file__).resolve().parents[2]
# each program's tag and its translated code with map ids masked (they differ per load)
LOAD = """
import json, re, subprocess, sys, pybpf
with pybpf.load(sys.argv[1]) as coll:
    out = {}
    for name, prog in sorted(coll.programs.items()):
        text = subprocess.run(["bpftool", "prog", "dump", "xlated", "id", str(prog.id)],
                              capture_output=True, text=True, check=True).stdout
        out[name] = [prog.tag, re.sub(r"map\\[id:\\d+\\]", "map[id:N]", text)]
print(json.dumps({"progs": out, "elftools": "elftools.elf.elffile" in sys.modules}))
"""


def obj_path(name: str) -> Path:
    return next((ROOT / "bpf" / "objects").rglob(f"{name}.bpf.o"))


def run_load(obj: Path, home) -> dict:
    got = subprocess.run([sys.executable, "-c", LOAD, str(obj)], env=_env(home), cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 0 and got.stderr == "", got.stderr
    return json.loads(got.stdout)


def entries(home: Path):
    return sorted((home / "pybpf").glob("prepared-*.bin"))


pytestmark = pytest.mark.skipif(shutil.which("bpftool") is None, reason="needs bpftool")


@pytest.mark.parametrize("name", ["trace_exec", "trace_open"])
def test_warm_load_is_the_cold_load(name, tmp_path):
    obj = obj_path(name)
    uncached = run_load(obj, None)
    cold = run_load(obj, tmp_path)
    assert len(entries(tmp_path)) == 1
    warm = run_load(obj, tmp_path)
    assert uncached["progs"] and warm["progs"] == cold["progs"] == uncached["progs"]
    assert uncached["elftools"] and cold["elftools"]
    assert not warm["elftools"]  # a warm start parses no ELF


def _tamper(entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    data[-1] ^= 1
    entry.write_bytes(bytes(data))


def _foreign(entry: Path) -> None:
    os.chown(entry, 65534, 65534)


def _symlinked(entry: Path) -> None:
    moved = entry.with_name("elsewhere")
    entry.rename(moved)
    entry.symlink_to(moved.name)


@pytest.mark.parametrize("spoil", [_tamper, _foreign, _symlinked],
                         ids=["tampered", "foreign-owned", "symlinked"])
def test_an_untrustworthy_entry_is_ignored_and_rebuilt(spoil, tmp_path):
    obj = obj_path("trace_exec")
    cold = run_load(obj, tmp_path)
    (entry,) = entries(tmp_path)
    genuine = entry.read_bytes()
    spoil(entry)
    again = run_load(obj, tmp_path)
    assert again["progs"] == cold["progs"]
    assert again["elftools"]  # not used: prepared cold
    st = entry.lstat()
    assert not entry.is_symlink() and st.st_uid == os.geteuid()
    assert entry.read_bytes() == genuine  # rewritten as it was
    assert not run_load(obj, tmp_path)["elftools"]


def test_overrides_select_entries_and_constants_are_written_on_load(tmp_path, monkeypatch):
    """A ring size selects its own entry; constants (a gadget's --pid) share one entry
    and are written into the `.rodata` image each load sends."""
    import pybpf

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(cachedir.DISABLE_ENV, raising=False)
    obj = obj_path("trace_exec")
    for size, pid in ((1 << 16, 1), (1 << 17, 2), (1 << 16, 3)):
        prepared = pybpf.prepare(obj, max_entries={"events": size},
                                 constants={"gadget_targ_pid": pid})
        section, offset, _, _ = prepared.constants["gadget_targ_pid"]
        with pybpf.load(prepared) as coll:
            assert coll.maps["events"].max_entries == size
            image = coll.maps[section].raw[bytes(4)]
            assert int.from_bytes(image[offset:offset + 4], "little") == pid
    assert len(entries(tmp_path)) == 2
    with pytest.raises(pybpf.BPFError, match="no map named 'nope'"):
        pybpf.prepare(obj, max_entries={"nope": 1})


# a gadget run in a child that imports nothing else before it (the events it should show,
# an open of a unique path or an exec with a unique argument, are made by the test), then
# which of the modules a warm start must not need the run imported
RUN_GADGET = """
import sys
before = set(sys.modules)  # the interpreter's own (site, an editable install's finder)
sys.argv = ["pybpf", "run", sys.argv[1], "--timeout", "2.5", "-o", "json", *sys.argv[2:]]
from pybpf_launch import main
main()
sys.stdout.flush()
imported = set(sys.modules) - before
import json
# what a warm start must not import: the BTF parser, pyelftools, the dataclasses machinery
# (records are plain classes, see pybpf.records), importlib's metadata and resources readers,
# shutil (argparse's help formatter is told the width: pybpf.cli.terminal_size), pathlib
# (objects are found by str paths: pybpf.arch_file, Gadget.object_location), calendar (the
# -T/-t time columns' module is imported for those options only), the ELF parser's records
# and the hook kinds, readers and helpers a tracepoint gadget does not use (pybpf.namespace:
# a package's names come from their modules on first use), the top gadgets' live table and
# its terminal modules, the container discovery and runtimes (a run that sees the host alone:
# the kernel passes only the test's own events, so a process in a container cannot count),
# the kernel feature probes (asked only when a load is refused: gadgets.common.probe), the
# user-space filters (a run without --filter), typing (annotations are for type checkers
# only: module-level TYPE_CHECKING = False), ast (the decoders and Declared parse with compile),
# signal (pybpf run sets its handlers through _signal), math
print(json.dumps(sorted(m for m in imported
                        if m.startswith(("pybpf.btf.", "elftools"))
                        or m in ("dataclasses", "inspect", "importlib.metadata",
                                 "importlib.resources", "shutil", "difflib", "pathlib",
                                 "ipaddress", "calendar", "pybpf.elf.specs",
                                 "pybpf.links.perf_links", "pybpf.links.bpf_links",
                                 "pybpf.links.uprobe_target", "fnmatch", "pybpf.readers.perf",
                                 "termios", "tty", "pybpf_gadgets.common.livetable",
                                 "pybpf_gadgets.common.containers",
                                 "pybpf_gadgets.common.runtimes", "pybpf.features",
                                 "pybpf_gadgets.common.filters", "typing", "subprocess", "ast",
                                 "signal", "math"))),
      file=sys.stderr)
"""


def _trigger(gadget: str, mark: str) -> None:
    if gadget == "trace_open":
        os.close(os.open(mark, os.O_RDONLY | os.O_CREAT, 0o600))
    else:
        subprocess.run(["/bin/true", mark], check=True)


def run_gadget(name: str, mark: str, home: Path):
    # the kernel filters the run to the test's events: the opens of this process, the
    # execs of /bin/true
    only = ["--pid", str(os.getpid())] if name == "trace_open" else ["--comm", "true"]
    child = subprocess.Popen([sys.executable, "-c", RUN_GADGET, name, *only], env=_env(home),
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def trigger() -> None:
        while child.poll() is None:
            time.sleep(0.1)
            _trigger(name, mark)

    events = threading.Thread(target=trigger, daemon=True)
    events.start()
    try:
        out, err = child.communicate(timeout=120)  # read as it runs: a full pipe would stall it
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        events.join()
    assert child.returncode == 0, err
    shown = [json.loads(line) for line in out.splitlines() if mark in line]
    assert shown, out[-2000:]
    # the gadget's own fields of the first event (time and process ids differ per run, and
    # so does the number an open returns: a cold start holds other files open than a warm one)
    first = {k: v for k, v in shown[0].items()
             if k not in ("timestamp", "timestamp_raw", "proc", "ret", "fd")}
    first["comm"] = shown[0]["proc"]["comm"]
    first["succeeded"] = shown[0]["ret"] >= 0
    return first, json.loads(err.splitlines()[-1])


@pytest.mark.parametrize("name", ["trace_open", "trace_exec"])
def test_a_warm_gadget_start_parses_no_btf_and_decodes_the_same(name, tmp_path):
    mark = str(tmp_path / f"pybpf-warm-{os.getpid()}")
    home = tmp_path / "home"
    home.mkdir()
    cold, cold_modules = run_gadget(name, mark, home)
    warm, warm_modules = run_gadget(name, mark, home)
    assert "pybpf.btf.spec" in cold_modules
    assert warm_modules == []  # neither the BTF parser nor pyelftools, nor the others named
    assert warm == cold
    assert len(list((home / "pybpf").glob("decoder-*.bin"))) == 1
