"""Names a module binds only under ``if TYPE_CHECKING:`` (its typing imports, aliases,
TypeVars and Protocols: the warm path does not import typing at run time, see
pybpf/namespace.py and NOTICES) are used only in annotations, never at run time, where
they do not exist. Read with ast from every source file of pybpf/ and gadgets/: a use the
tests happen not to run would otherwise fail only in front of a user."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("pybpf", "gadgets") for p in (ROOT / folder).rglob("*.py"))


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
        and node.test.id == "TYPE_CHECKING"


def _bound(statements: List[ast.stmt], into: Set[str], checking: Set[str]) -> None:
    """Names the module's top level binds, into ``into`` (or ``checking`` under TYPE_CHECKING)."""
    for node in statements:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            into.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            into.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            into.add(node.name)
        elif isinstance(node, ast.If):
            _bound(node.body, checking if _is_type_checking(node) else into, checking)
            _bound(node.orelse, into, checking)
        elif isinstance(node, ast.Try):
            _bound(node.body, into, checking)
            for handler in node.handlers:
                _bound(handler.body, into, checking)


class _RunTimeUses(ast.NodeVisitor):
    """Loads of ``names`` outside annotations and outside TYPE_CHECKING blocks."""

    def __init__(self, names: Set[str]) -> None:
        self.names = names
        self.found: List[Tuple[int, str]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        pass  # its annotation

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        arguments = node.args
        for child in [*node.decorator_list, *arguments.defaults,
                      *(d for d in arguments.kw_defaults if d is not None), *node.body]:
            self.visit(child)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.names and isinstance(node.ctx, ast.Load):
            self.found.append((node.lineno, node.id))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_type_checking_names_are_not_used_at_run_time(path):
    tree = ast.parse(path.read_text(), str(path))
    run_time: Set[str] = set()
    checking: Set[str] = set()
    _bound(tree.body, run_time, checking)
    inside = {id(n) for node in ast.walk(tree) if _is_type_checking(node)
              for statement in node.body for n in ast.walk(statement)}
    for node in ast.walk(tree):  # imports inside functions bind at run time too
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in inside:
            run_time.update((a.asname or a.name).split(".")[0] for a in node.names)
    uses = _RunTimeUses(checking - run_time)
    uses.visit(tree)
    assert not uses.found, f"{path.name}: bound only under TYPE_CHECKING, used at run time: {uses.found}"
