"""Packages depend one way: no cycle between the packages of giving/.

Every module is either *domain* (models, services, queries and the like) or an *entry
point* (views.py, *_pages.py, api.py, webhooks.py, cli.py, jobs.py, forms.py, and the
admin, pages and demo tools): the STYLE direction ``views | cli | jobs | webhooks →
services → models``. Entry points sit on top: a page may use the services and queries of
every package it shows, and no module imports another package's entry points. The domain
modules, grouped by package ("campaigns", "ledger") or top-level module ("config",
"web"), must not import each other in a loop. The composition root (giving/__init__.py
with create_app, and giving/cli.py, which registers every package's commands) is one node,
"app", that nothing imports. Every import counts: at module level, inside functions and
under TYPE_CHECKING, since a type is a dependency too. docs/architecture.md shows the
layers.

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
# Entry points by file name, and whole packages or top-level modules that are entry points
# or tools composing everything (imported by the root only).
ENTRY_FILES = {"views", "api", "webhooks", "cli", "jobs", "forms", "demo", "sandbox_views"}
ENTRY_NODES = {"admin", "pages", "api_docs", "errorpages", "demo", "demo_content", "models"}
# Helpers of a package's entry points, read from the running app (current_app).
ENTRY_MODULES = {
    "giving.payments.runtime",  # the payment wiring of the current app, for views and commands
    "giving.disbursements.uploads",  # the app's evidence store and the forms' file slots
}

KNOWN_BACK_EDGES: dict[tuple[str, str], str] = {
    ("disbursements", "impact"): (
        "evidence consent and take-down read the children's registry: the registry becomes "
        "a package of its own below the books"
    ),
}
KNOWN_ROOT_IMPORTS: dict[str, str] = {
    "giving/reports/jobs.py": (
        "report jobs build a whole app in the worker: the one jobs seam builds it once per worker"
    ),
}


def node_of(module: str) -> str:
    """The graph node of a dotted module name inside giving."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "__init__"
    return "app" if name in ROOT_MODULES else name


def is_entry_point(module: str) -> bool:
    parts = module.split(".")
    if len(parts) < 2 or node_of(module) in ENTRY_NODES | {"app"} or module in ENTRY_MODULES:
        return True
    last = parts[-1]
    return len(parts) > 2 and (last in ENTRY_FILES or last.endswith("_pages"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(GIVING.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str) -> bool:
    candidate = GIVING.parent.joinpath(*dotted.split("."))
    return candidate.with_suffix(".py").is_file() or candidate.is_dir()


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


def imports() -> Iterable[tuple[str, str, str]]:
    """(importing module, imported giving module, where) for every import in giving/."""
    for path in sorted(GIVING.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target in _imported(tree, module, path.name == "__init__.py"):
            if target == "giving" or target.startswith("giving."):
                yield module, target, str(path.relative_to(GIVING.parent))


def domain_graph() -> dict[str, dict[str, list[str]]]:
    """Between domain modules: node -> imported node -> where (for the message)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for module, target, where in imports():
        if is_entry_point(module) or is_entry_point(target):
            continue
        source, dest = node_of(module), node_of(target)
        if dest != source:
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
    graph = domain_graph()
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
    graph = domain_graph()
    gone = [edge for edge in KNOWN_BACK_EDGES if edge[1] not in graph.get(edge[0], {})]
    assert gone == [], f"remove these from KNOWN_BACK_EDGES, they are fixed: {gone}"


def test_domain_modules_never_import_entry_points() -> None:
    """Services and queries are called by pages, commands and jobs, never the reverse."""
    wrong = sorted(
        f"{where} imports {target}"
        for module, target, where in imports()
        if not is_entry_point(module) and is_entry_point(target) and node_of(target) != "app"
    )
    assert wrong == []


def test_no_two_modules_import_each_other_even_through_others() -> None:
    """Entry points may use each other across packages (a page uses another package's
    form), but never in a loop; the root counts as one module."""
    edges: dict[str, set[str]] = {}
    for module, target, where in imports():
        if where in KNOWN_ROOT_IMPORTS:
            continue
        while not _is_module(target) and "." in target:
            target = target.rsplit(".", 1)[0]
        source = "app" if node_of(module) == "app" else module
        dest = "app" if node_of(target) == "app" else target
        if dest != source:
            edges.setdefault(source, set()).add(dest)
    assert find_cycle({m: sorted(d) for m, d in edges.items()}) is None


def test_nothing_imports_the_root_but_the_known_ones() -> None:
    importers = {
        where
        for module, target, where in imports()
        if node_of(target) == "app" and node_of(module) != "app"
    }
    assert importers == set(KNOWN_ROOT_IMPORTS)


def test_the_checks_catch_the_loops_this_codebase_once_had() -> None:
    """giving/cli.py and the package CLIs imported each other (cli_session, fail): the
    package CLI imported the root, which test_nothing_imports_the_root_but_the_known_ones
    refuses. config.py and impact/crypto.py imported each other (ConfigError): two domain
    nodes in a loop, which find_cycle reports."""
    assert node_of("giving.cli") == node_of("giving") == "app"
    assert node_of("giving.ledger.cli") == "ledger"
    assert is_entry_point("giving.ledger.cli")
    assert not is_entry_point("giving.config")
    assert not is_entry_point("giving.impact.crypto")
    assert node_of("giving.impact.crypto") == "impact"
    assert find_cycle({"config": ["impact"], "impact": ["config"], "web": []}) == [
        "config",
        "impact",
        "config",
    ]
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
