"""The project's modules import each other one way: api -> workflows -> activities -> plugins, with
store and netprov (the shared vocabulary) below them, and no file-level import cycle anywhere.
Read from the source with `ast` (nothing is imported), so a cycle hidden in a function-level
import counts too."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "store", "netprov", "plugins", "workflows", "activities", "worker", "cli", "devstack", "bench")
# What each layer must never import (its callers, or packages beside it it has no business with).
FORBIDDEN = {
    "netprov": {"api", "store", "plugins", "workflows", "activities", "worker", "cli", "devstack", "bench"},
    "store": {"api", "plugins", "workflows", "activities", "worker", "cli", "devstack", "bench"},
    "plugins": {"api", "workflows", "activities", "worker", "cli"},
    "activities": {"api", "workflows", "worker", "cli"},
    "workflows": {"api", "worker", "cli"},
    "cli": {"api", "worker", "workflows", "activities"},
}


def module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (`from a.b import c` counts a.b, and a.b.c when
    that is a module)."""
    modules = module_files()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {dep for dep in found if dep in modules and dep != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_layers_import_downwards_only():
    wrong = sorted(
        f"{module} imports {dep}"
        for module, deps in import_graph().items()
        for dep in deps
        if dep.split(".")[0] in FORBIDDEN.get(module.split(".")[0], set())
    )
    assert wrong == []


def test_the_checks_see_a_cycle_and_a_wrong_layer():
    # The checker itself can fail: a two-module cycle and a store module importing api are found.
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    graph = import_graph()
    assert "store.projection" in graph and "store.effective" in graph["store.projection"]
