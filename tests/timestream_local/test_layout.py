"""The package's shape as timestream_local/README.md draws it: no import cycle, and each layer
imports only the layers below it (front -> API handlers -> domain -> storage; the query engine
beside them, reached by the store only through storage/reader.py).

Imports are read from the source with ``ast``, so every import statement counts: those at module
level, those inside functions (lazy imports, made to keep start-up fast) and those under
``if TYPE_CHECKING:``. A lazy import only delays the dependency and a type-only import is still
one in the design, so neither may be used to hide a cycle or a layer crossed upwards.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import ROOT

PACKAGE = "timestream_local"
SOURCE = ROOT / PACKAGE

# Layers, and what each may import besides itself and SHARED (the vocabulary every layer uses).
SHARED = {"timestream_local", "exceptions", "models", "catalog", "lru", "watchdog"}
FRONT = {"server", "http1", "sigv4", "urls"}
ALLOWED = {
    "cli": {"front", "api", "assembly", "domain", "storage", "query"},
    "front": {"api", "assembly", "query"},  # query: the type of a connection's prepared statements
    # queries read the store through reader.py alone; S3 (UNLOAD, batch load, reports) is objects.py
    "api": {"domain", "query", "storage.reader", "storage.objects"},
    "assembly": {"domain", "storage"},
    "domain": {"storage"},
    "storage": set(),
    "query": set(),
    "shared": set(),
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _resolve(name: str) -> str:
    """The package's own module an imported name lives in (its longest known prefix)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str, path: Path) -> set[str]:
    """Every module of the package that ``module`` imports, anywhere in its source."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per dot after the first
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import sub" imports the submodule pkg.sub when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found.update(_resolve(name) for name in names if name == PACKAGE or name.startswith(PACKAGE + "."))
    found.discard(module)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> str:
    local = module.removeprefix(PACKAGE + ".") if module != PACKAGE else PACKAGE
    top = local.split(".")[0]
    if local == "__main__":
        return "cli"
    if local in SHARED:
        return "shared"
    if local in FRONT:
        return "front"
    if local == "store":
        return "assembly"
    if top in ("api", "domain", "storage", "query"):
        return top
    raise AssertionError(f"{module} belongs to no layer: add it to the map (README.md) and to this test")


def _allowed(importer: str, imported: str) -> bool:
    mine, theirs = _layer(importer), _layer(imported)
    if theirs in ("shared", mine):
        return True
    local = imported.removeprefix(PACKAGE + ".")
    return theirs in ALLOWED[mine] or local in ALLOWED[mine]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path back to its start) per strongly connected component that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    cycles = []
    for component in components:
        members, path = set(component), [min(component)]
        while path.count(path[-1]) < 2:
            path.append(min(m for m in graph[path[-1]] if m in members))
        cycles.append(path[path.index(path[-1]) :])
    return cycles


def test_the_reader_sees_every_kind_of_import():
    """The parser itself: module-level, lazy (inside a function), TYPE_CHECKING-only and
    "from package import submodule" imports all make edges."""
    assert "timestream_local.storage.database" in GRAPH["timestream_local.storage.flusher"]
    assert "timestream_local.query" in GRAPH["timestream_local.api.query"]  # lazy, inside _run_query
    assert "timestream_local.storage.reader" in GRAPH["timestream_local.api.query"]  # TYPE_CHECKING
    assert "timestream_local.urls" in GRAPH["timestream_local.__main__"]  # lazy "from pkg import sub"
    assert {"timestream_local.query.guard", "timestream_local.query.results"} <= GRAPH[
        "timestream_local.query.engine"
    ]


def test_cycle_finder_finds_a_cycle_and_names_it():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycle():
    assert _cycles(GRAPH) == []


def test_each_layer_imports_only_the_layers_below_it():
    crossings = sorted(
        f"{importer} imports {imported}"
        for importer, imported_set in GRAPH.items()
        for imported in imported_set
        if not _allowed(importer, imported)
    )
    assert crossings == []


@pytest.mark.parametrize("statement", ["import timestream_local", "import timestream_local.__main__"])
def test_the_package_imports_in_a_fresh_interpreter(statement):
    done = subprocess.run(
        [sys.executable, "-c", statement], check=False, cwd=ROOT, capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_every_module_imports_on_its_own():
    """Each module first in its own interpreter: an import that works only after another module
    was loaded (the symptom of a cycle broken by import order) fails here."""
    script = (
        "import importlib, subprocess, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    done = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True, text=True)\n"
        "    if done.returncode:\n"
        "        failed.append((name, done.stderr.strip().splitlines()[-1]))\n"
        "print(failed)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *sorted(MODULES)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
