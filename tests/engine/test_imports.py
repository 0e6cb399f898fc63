"""The engine's modules import each other without cycles (docs/ENGINE_STAGES.md).

Every import statement counts: at module level, inside functions and under
TYPE_CHECKING, because a cycle in types is still a cycle in the design. One kind of
edge is allowed: a command handler module (engine/venue, engine/perp) may name the
Engine it is plugged into in annotations (under TYPE_CHECKING), as the Engine holds
and dispatches to it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import engine

ENGINE_DIR = Path(engine.__file__).parent
HANDLER_PACKAGES = ("engine.venue", "engine.perp")
STAGES = (
    "engine.book",
    "engine.risk",
    "engine.order_commands",
    "engine.pretrade",
    "engine.matching",
    "engine.settlement",
)
"""The stage modules, which must not see the engine that composes them at all."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in ENGINE_DIR.rglob("*.py"):
        parts = list(path.relative_to(ENGINE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, dict[str, bool]]:
    """module -> {imported engine module: whether only under TYPE_CHECKING}."""
    modules = _modules()
    graph: dict[str, dict[str, bool]] = {name: {} for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        typing_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for stmt in block.body
            for node in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [
                    f"{node.module}.{alias.name}"
                    if f"{node.module}.{alias.name}" in modules
                    else node.module
                    for alias in node.names
                ]
            else:
                continue
            for target in targets:
                if target in modules and target != name:
                    only_types = id(node) in typing_only and graph[name].get(target, True)
                    graph[name][target] = only_types
    return graph


def _allowed(source: str, target: str, only_types: bool) -> bool:
    in_handlers = any(source == p or source.startswith(p + ".") for p in HANDLER_PACKAGES)
    return only_types and in_handlers and target == "engine.core"


def find_cycle(graph: dict[str, dict[str, bool]]) -> list[str]:
    """One import cycle (as a path that returns to its start), or [] when there is none."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target, only_types in sorted(graph[node].items()):
            if _allowed(node, target, only_types):
                continue
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_the_engine_has_no_import_cycles() -> None:
    assert find_cycle(import_graph()) == []


def test_stages_do_not_see_the_engine() -> None:
    graph = import_graph()
    reached = {stage: _reachable(graph, stage) for stage in STAGES}
    above = {"engine.core", "engine.journal", "engine.snapshot", *HANDLER_PACKAGES}
    assert {stage: sorted(r & above) for stage, r in reached.items() if r & above} == {}


def _reachable(graph: dict[str, dict[str, bool]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_checker_finds_cycles() -> None:
    """A cycle through a type-only import counts; the handler exception is that narrow."""
    assert find_cycle({"engine.a": {"engine.b": True}, "engine.b": {"engine.a": False}}) == [
        "engine.a",
        "engine.b",
        "engine.a",
    ]
    handler = {"engine.venue.x": {"engine.core": True}, "engine.core": {"engine.venue.x": False}}
    assert find_cycle(handler) == []
    handler["engine.venue.x"]["engine.core"] = False  # at run time it is a cycle
    assert find_cycle(handler) != []


def test_handler_packages_do_not_import_the_journal_table() -> None:
    """engine.commands gathers the handler packages' commands into the journal's record
    table: a handler that imports it (for NewOrder, say) depends on its own dependant.
    The order commands come from engine.order_commands."""
    graph = import_graph()
    users = sorted(
        name
        for name, targets in graph.items()
        if any(name == p or name.startswith(p + ".") for p in HANDLER_PACKAGES)
        and "engine.commands" in targets
    )
    assert users == []
