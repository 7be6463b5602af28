"""The house rules, checked on the source: the import graph has no circle, arrows point one way
(entry points and tooling use the domain, never the reverse; the platform uses no domain package),
package __init__ files are only docstrings, and production modules stay readable in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared", "api", "workers", "beat", "cli", "devkit", "bench", "client")
# What each top-level package may import from the project (itself included).
ALLOWED = {
    "shared": {"shared"},
    "beat": {"beat", "shared"},
    "workers": {"workers", "beat", "shared"},
    "api": {"api", "workers", "beat", "shared"},
    "devkit": {"devkit", "shared"},
    "cli": {"cli", "client", "devkit", "shared"},
    "bench": {"bench", "devkit", "api", "workers", "beat", "shared"},
    "client": {"client"},  # the REST client package (client/policycortex_client): stands alone
}
# Production modules longer than this are split, unless they are declarative data.
MAX_LINES = 500
# Modules allowed past MAX_LINES: declarations only, no logic.
DECLARATIVE = {"api.responses"}  # the marshmallow schemas of every success body
PRODUCTION = ("shared", "api", "workers", "beat", "cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations/versions" not in path.as_posix():
                modules[_module_name(path)] = path
    return modules


MODULES = _sources()


def _resolve(name: str) -> str | None:
    """The project module an import names (the longest known prefix), or None for a library."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _with_parents(module: str) -> set[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first: they are imported too."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(MODULES)


def _imports(module: str) -> set[str]:
    """Every project module `module` imports, at the top or inside a function (a lazy import is
    still an arrow: it only hides a circle until the first call)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            target = _resolve(name)
            if target:
                found |= _with_parents(target)
    found.discard(module)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

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
    return found


def test_no_import_circles():
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_arrows_point_one_way(package):
    upward = [
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in ALLOWED[package]
    ]
    assert upward == []


def _package_graph() -> dict[str, set[str]]:
    """Domain package -> the domain packages it imports (shared.scans -> shared.catalog, ...)."""
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        parts = module.split(".")
        if parts[0] != "shared" or len(parts) < 2 or parts[1] == "migrations":
            continue  # migrations gather every package's tables: they sit on top of all of them
        for target in targets:
            other = target.split(".")
            if other[0] == "shared" and len(other) > 1 and other[1] != parts[1]:
                packages.setdefault(parts[1], set()).add(other[1])
    return packages


# The domain's layers, bottom up, as the README's map lists them: a package imports only packages
# before it here (so there is no circle between packages either).
LAYERS = (
    "platform",
    "tenants",
    "accounts",
    "frameworks",
    "inventory",
    "remediation",
    "policies",
    "catalog",
    "attestations",
    "findings",
    "notifications",
    "scans",
    "schedules",
    "reports",
)


def test_domain_packages_form_layers():
    graph = _package_graph()
    assert set(graph) | {t for targets in graph.values() for t in targets} <= set(LAYERS), "a new package: layer it"
    upward = sorted(
        f"{package} -> {target}"
        for package, targets in graph.items()
        for target in targets
        if LAYERS.index(target) >= LAYERS.index(package)
    )
    assert upward == []
    assert _cycles(graph) == []


def test_the_platform_uses_no_domain_package():
    reaching_up = [
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.startswith("shared.platform")
        for target in targets
        if target != "shared" and not target.startswith("shared.platform")
    ]
    assert reaching_up == []


def test_package_inits_are_only_docstrings():
    """Importing any module runs its packages' __init__ files first: they hold no code, so a
    package never drags its neighbours (or a circle) into an import."""
    heavy = []
    for module, path in MODULES.items():
        if path.name == "__init__.py":
            body = ast.parse(path.read_text()).body
            if any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body):
                heavy.append(module)
    assert heavy == []


def test_production_modules_are_readable_in_one_sitting():
    long = {
        module: n
        for module, path in MODULES.items()
        if module.split(".")[0] in PRODUCTION
        and module not in DECLARATIVE
        and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
