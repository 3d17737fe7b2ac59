"""Packages depend one way: no cycle between the packages of giving/.

Nodes are giving's top-level packages and modules ("campaigns", "web", "config"); the
composition root (giving/__init__.py with create_app, and giving/cli.py, which registers
every package's commands) is one node, "app", that may import everything and that nothing
below it imports. Every import counts: at module level, inside functions and under
TYPE_CHECKING, since a type is a dependency too. The layers are in docs/architecture.md.

KNOWN_BACK_EDGES lists the imports that still close a cycle. None of them is needed: each
says what removes it, and the test fails as soon as one disappears, so the list only
shrinks.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path

GIVING = Path(__file__).resolve().parent.parent / "giving"
ROOT_MODULES = {"__init__", "cli"}

KNOWN_BACK_EDGES: dict[tuple[str, str], str] = {
    ("campaigns", "payments"): (
        "the organisers' campaign page shows late-gift flags: pages that compose several "
        "packages move above them"
    ),
    ("disbursements", "impact"): (
        "evidence consent and take-down read the children's registry: the registry becomes "
        "a package of its own below the books"
    ),
    ("hosts", "campaigns"): (
        "assigning a host and listing hosted campaigns are campaign operations: they move "
        "to campaigns, which sits above hosts"
    ),
    ("hosts", "disbursements"): "the host's dashboard composes several packages (see above)",
    ("hosts", "payments"): "the host's dashboard composes several packages (see above)",
    ("reports", "app"): (
        "report jobs build a whole app in the worker: the one jobs seam builds it once per worker"
    ),
}


def node_of(module: str) -> str:
    """The graph node of a dotted module name inside giving."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "__init__"
    return "app" if name in ROOT_MODULES else name


def _module_name(path: Path) -> str:
    parts = path.relative_to(GIVING.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterable[str]:
    """Every giving module an AST imports, as dotted names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".")
                base = package[: len(package) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # "from giving import scanner" imports the module giving.scanner, not the root.
            submodules = [
                f"{target}.{alias.name}"
                for alias in node.names
                if _is_module(f"{target}.{alias.name}")
            ]
            if len(submodules) < len(node.names):
                yield target
            yield from submodules


def _is_module(dotted: str) -> bool:
    candidate = GIVING.parent.joinpath(*dotted.split("."))
    return candidate.with_suffix(".py").is_file() or candidate.is_dir()


def import_graph() -> dict[str, dict[str, list[str]]]:
    """node -> imported node -> where ("path:line" of each import, for the message)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(GIVING.rglob("*.py")):
        module = _module_name(path)
        source = node_of(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target in _imported(tree, module, path.name == "__init__.py"):
            if target != "giving" and not target.startswith("giving."):
                continue
            dest = node_of(target)
            if dest != source:
                where = f"{path.relative_to(GIVING.parent)}"
                graph.setdefault(source, {}).setdefault(dest, []).append(where)
    return graph


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of the directed graph, as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_cycle_between_packages_beyond_the_known_ones() -> None:
    graph = import_graph()
    edges = {
        source: [dest for dest in targets if (source, dest) not in KNOWN_BACK_EDGES]
        for source, targets in graph.items()
    }
    cycle = find_cycle(edges)
    if cycle is not None:
        steps = [
            f"{a} -> {b} ({', '.join(sorted(set(graph[a][b])))})"
            for a, b in itertools.pairwise(cycle)
        ]
        raise AssertionError("packages import each other in a loop:\n  " + "\n  ".join(steps))


def test_each_known_back_edge_is_still_there_so_the_list_only_shrinks() -> None:
    graph = import_graph()
    gone = [edge for edge in KNOWN_BACK_EDGES if edge[1] not in graph.get(edge[0], {})]
    assert gone == [], f"remove these from KNOWN_BACK_EDGES, they are fixed: {gone}"


def test_the_root_is_imported_by_nothing_but_the_known_edges() -> None:
    graph = import_graph()
    importers = {source for source, targets in graph.items() if "app" in targets}
    assert importers == {source for source, dest in KNOWN_BACK_EDGES if dest == "app"}


def test_the_check_catches_the_loops_this_codebase_once_had() -> None:
    """giving/cli.py and the package CLIs imported each other (cli_session, fail), and
    config.py and impact/crypto.py (ConfigError): both are cycles to this check."""
    assert find_cycle({"app": ["ledger"], "ledger": ["app"]}) == ["app", "ledger", "app"]
    assert find_cycle({"config": ["impact"], "impact": ["config"], "web": []}) is not None
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    # And the nodes are what the old loops were between.
    assert node_of("giving.cli") == node_of("giving") == "app"
    assert node_of("giving.ledger.cli") == "ledger"
    assert node_of("giving.impact.crypto") == "impact"
