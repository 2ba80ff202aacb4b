"""The import graph of pybpf/ keeps its layers: the pure layer never reaches the kernel.

Read with ast from the source files (imports inside functions and under
TYPE_CHECKING count as much as those at the top), so a deferred import cannot
hide a dependency. The pure layer (elf, btf, asm, linker, the CO-RE engine,
uapi, errors, records, namespace) may import only itself, the standard library, pyelftools and
construct; nothing in pybpf imports the gadgets.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, Set

import pytest

ROOT = Path(__file__).resolve().parents[2] / "pybpf"

PURE_PACKAGES = ("pybpf.elf", "pybpf.btf", "pybpf.asm", "pybpf.linker")
CORE_ENGINE = {f"pybpf.core.{m}" for m in (
    "access", "calc", "candidates", "compat", "kinds", "match", "patch", "relocate", "result",
    "typeinfo")}
PURE_MODULES = CORE_ENGINE | {"pybpf.uapi", "pybpf.errors", "pybpf.records", "pybpf.namespace"}
THIRD_PARTY = {"elftools", "construct"}
# Standard modules through which code reaches the kernel: syscalls by libc, ioctls, sockets.
KERNEL_DOORS = {"ctypes", "fcntl", "socket"}
GADGETS = ("pybpf_gadgets", "gadgets")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: Dict[str, Path] = {module_name(p): p for p in ROOT.rglob("*.py")}


def resolve(name: str) -> str:
    """The module an imported name lives in: ``pybpf.elf.ObjectSpec`` -> ``pybpf.elf``."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str) -> Set[str]:
    """Every module ``module`` imports, anywhere in its source (top level or not)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(resolve(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base == "__future__":
                continue
            out.add(resolve(base))
            out.update(resolve(f"{base}.{alias.name}") for alias in node.names
                       if f"{base}.{alias.name}" in MODULES)
    return out


GRAPH = {module: imports_of(module) for module in MODULES}


def is_pure(module: str) -> bool:
    return module in PURE_MODULES or any(module == p or module.startswith(p + ".")
                                         for p in PURE_PACKAGES)


def test_the_graph_is_read():
    assert {"pybpf.elf.reader", "pybpf.collection", "pybpf.sys.syscall"} <= set(GRAPH)
    assert "pybpf.uapi" in GRAPH["pybpf.elf.sections"]
    assert "pybpf.sys.syscall" in GRAPH["pybpf.kernel_facts"]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if is_pure(m)))
def test_pure_layer_imports_only_pure_code(module):
    stdlib = getattr(sys, "stdlib_module_names", None)  # 3.10+; 3.9 checks pybpf edges only
    bad = []
    for target in sorted(GRAPH[module]):
        top = target.split(".")[0]
        if top == "pybpf":
            if not is_pure(target) and target != "pybpf":
                bad.append(target)
        elif top in KERNEL_DOORS or (stdlib is not None and top not in stdlib
                                      and top not in THIRD_PARTY):
            bad.append(target)
    assert not bad, f"{module} (pure layer) imports {bad}"


def test_the_library_does_not_know_its_gadgets():
    bad = {m: sorted(t for t in targets if t.split(".")[0] in GADGETS)
           for m, targets in GRAPH.items()}
    assert not {m: t for m, t in bad.items() if t}
