"""The house: no runtime import cycle in sessionpool (function-level imports count), and no module over 400 lines.

Imports under ``if TYPE_CHECKING:`` are for annotations only and never run,
so they are left out; every other ``import`` and ``from ... import``, at
module level or inside a function, is an arrow from one module to another.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "sessionpool"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """The sessionpool modules ``tree`` imports when it runs."""
    found: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "sessionpool")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sessionpool":
            # ``from sessionpool.cli import demo`` imports the module sessionpool.cli.demo; a name that
            # is no module (``from sessionpool import Pool``) is an arrow to the module that defines it.
            names = {f"{node.module}.{alias.name}" for alias in node.names}
            submodules = names & modules
            found.update(submodules)
            if names - submodules:
                found.add(node.module)
        pending.extend(ast.iter_child_nodes(node))
    return {name for name in found if name in modules}


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in SOURCE.rglob("*.py")}
    modules = set(paths)
    graph = {}
    for name, path in paths.items():
        # Only the arrows the code draws: importing sessionpool._x also runs the
        # package's __init__ first, which Python starts before any of its modules.
        arrows = _runtime_imports(ast.parse(path.read_text(encoding="utf-8")), modules)
        arrows.discard(name)
        graph[name] = arrows
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_runtime_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_check_finds_a_cycle_through_a_function_level_import() -> None:
    modules = {"sessionpool.a", "sessionpool.b"}
    inside = ast.parse("def f():\n    from sessionpool.b import x\n")
    annotated = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sessionpool.a import y\n")
    assert _runtime_imports(inside, modules) == {"sessionpool.b"}
    assert _runtime_imports(annotated, modules) == set()
    assert _cycles({"sessionpool.a": {"sessionpool.b"}, "sessionpool.b": {"sessionpool.a"}}) == [
        ["sessionpool.a", "sessionpool.b"]
    ]


#: The most lines a module of sessionpool has: past it, a module does more than one job.
MODULE_LINES_MAX = 400


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(SOURCE)): lines
        for path in sorted(SOURCE.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES_MAX
    }
    assert long == {}, "split these by job (docs/development.md maps the modules)"
