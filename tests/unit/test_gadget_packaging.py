"""The gadgets are a client of the library: the import graph, the entry-point
registration (ours and a third party's) and what the wheel ships."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Tuple

from pybpf.cli import entry_points
from pybpf_gadgets import registry

ROOT = Path(__file__).resolve().parents[2]


def _imports(folder: Path) -> Iterator[Tuple[Path, int, str]]:
    """(file, line, absolute module name) of every import in ``folder``'s Python files."""
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.lineno, node.module


def _is_gadgets(module: str) -> bool:
    top = module.split(".")[0]
    return top in ("gadgets", "pybpf_gadgets")


def test_library_never_imports_the_gadgets():
    bad = [f"{p.relative_to(ROOT)}:{n} imports {m}" for p, n, m in _imports(ROOT / "pybpf")
           if _is_gadgets(m)]
    assert not bad, bad


def test_gadgets_import_each_other_relatively():
    """So the folder works under its installed name (pybpf_gadgets) and any other."""
    bad = [f"{p.relative_to(ROOT)}:{n} imports {m}" for p, n, m in _imports(ROOT / "gadgets")
           if _is_gadgets(m)]
    assert not bad, bad


def _declared_gadgets() -> set:
    """Modules of gadgets/ that assign GADGET at top level."""
    names = set()
    for path in (ROOT / "gadgets").glob("*.py"):
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "GADGET"
                                                  for t in n.targets) for n in tree.body):
            names.add(path.stem)
    return names


def test_every_gadget_module_is_registered():
    registered = {ep.name: ep.value for ep in entry_points(registry.GROUP)
                  if ep.value.startswith("pybpf_gadgets.")}
    declared = _declared_gadgets()
    assert set(registered) == declared, (
        "pyproject.toml's [project.entry-points.\"pybpf.gadgets\"] and gadgets/*.py disagree "
        "(or the install is stale: pip install -e .)")
    for name, value in registered.items():
        assert value == f"pybpf_gadgets.{name}:GADGET"
    assert [g.name for g in registry.all_gadgets()] and not registry.import_errors()


PLUGIN = '''
from pybpf_gadgets.common.gadget import Gadget, Hook

GADGET = Gadget(name="hello_gadget", category="trace", description="a third-party gadget",
                object="hello", hooks=[Hook("tracepoint", "syscalls/sys_enter_getpid")])


def register(subparsers):
    p = subparsers.add_parser("hello", help="a third-party command")
    p.set_defaults(func=lambda args: print("hello from a plug-in") or 0)
'''


def _plugin_site(tmp_path: Path) -> Path:
    """A directory holding an installed-looking third-party package (module +
    dist-info with entry points), and one broken entry."""
    site = tmp_path / "site"
    info = site / "pybpf_hello-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "pybpf_hello.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pybpf-hello\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[pybpf.commands]\nhello = pybpf_hello:register\nbroken = pybpf_hello_gone:register\n"
        "[pybpf.gadgets]\nhello_gadget = pybpf_hello:GADGET\n")
    return site


def _pybpf(site: Path, *argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, "-m", "pybpf", *argv], capture_output=True,
                          text=True, env=env, cwd=str(site), timeout=60)


def test_a_third_party_package_adds_a_command_and_a_gadget(tmp_path):
    site = _plugin_site(tmp_path)
    out = _pybpf(site, "hello")
    assert out.returncode == 0 and out.stdout == "hello from a plug-in\n", out.stderr
    listed = _pybpf(site, "list", "-o", "json")
    rows = {json.loads(line)["name"]: json.loads(line) for line in listed.stdout.splitlines()}
    assert rows["hello_gadget"]["description"] == "a third-party gadget"
    assert "trace_exec" in rows
    helped = _pybpf(site, "--help")
    assert "hello" in helped.stdout and "load" in helped.stdout


def test_a_broken_plugin_is_one_line_and_spares_the_rest(tmp_path):
    site = _plugin_site(tmp_path)
    out = _pybpf(site, "broken")
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "command broken cannot be loaded" in out.stderr
    assert "ModuleNotFoundError" in out.stderr
    assert _pybpf(site, "hello").returncode == 0


def test_the_wheel_ships_gadgets_namespaced_and_no_test_fixtures(tmp_path):
    """What setup.py builds into the wheel (build_py: packages and package data)."""
    build = tmp_path / "lib"
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build)],
                   cwd=str(ROOT), check=True, capture_output=True, timeout=120)
    tops = sorted(p.name for p in build.iterdir())
    # pybpf_launch: the console script's entry, which runs before the package imports
    assert tops == ["pybpf", "pybpf_gadgets", "pybpf_launch.py"]
    assert (build / "pybpf_gadgets" / "trace_exec.py").exists()
    assert (build / "pybpf_gadgets" / "common" / "gadget.py").exists()
    shipped = {p.name for p in (build / "pybpf" / "objects").glob("*.o")}
    gadget_sources = {p.name[: -len(".bpf.c")] for p in (ROOT / "bpf" / "gadgets").glob("*.bpf.c")}
    fixture_sources = {p.name[: -len(".bpf.c")] for p in (ROOT / "bpf" / "tests").glob("*.bpf.c")}
    shipped_names = {name.split(".")[0] for name in shipped}
    assert shipped_names == gadget_sources
    assert not shipped_names & fixture_sources


def test_a_checkout_without_an_install_finds_its_objects(tmp_path):
    """As the VM tests run it: the packages on sys.path, nothing installed
    (no pybpf.objects package data); the objects come from bpf/objects."""
    (tmp_path / "pybpf").symlink_to(ROOT / "pybpf")
    (tmp_path / "pybpf_gadgets").symlink_to(ROOT / "gadgets")
    code = ("from pybpf_gadgets import registry; import os, sys; "
            "p = registry.get('trace_open').object_location(); "
            "print(p); sys.exit(0 if os.path.exists(p) else 1)")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(ROOT / "bpf" / "objects"))
