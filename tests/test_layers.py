"""The package's layers import only downward, and no modules import each other in a circle.

Every import of every module of ``taxopt`` is read with `ast`: at the top, inside
functions (lazy imports) and under ``TYPE_CHECKING``. An import of a higher layer
is an upward edge; a circle of runtime imports (``TYPE_CHECKING`` ones left out:
they never run) is a cycle. Known violations outside this branch's files are
listed in `ALLOWED` with the reason; a new one fails the test, and an entry that
no longer occurs fails it too, so the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "taxopt"

LAYERS: list[tuple[str, ...]] = [
    ("taxopt.errors", "taxopt.limits", "taxopt.options", "taxopt.version", "taxopt.domain",
     "taxopt.files", "taxopt.workers", "taxopt.interrupts"),
    ("taxopt.tax",),
    ("taxopt.model",),
    ("taxopt.adapters",),
    ("taxopt.decode", "taxopt.audit", "taxopt.explain"),
    ("taxopt.engine", "taxopt.plan", "taxopt.output"),
    ("taxopt.api",),
    ("taxopt.batch", "taxopt.compare", "taxopt.backtest", "taxopt.heuristics", "taxopt.synth",
     "taxopt.methods"),
    ("taxopt.cli", "taxopt.display", "taxopt.__main__", "taxopt"),
]
"""From the bottom up; a module belongs to the longest prefix named here. The root
package (``taxopt/__init__.py``, the lazy facade) sits on top with the CLI."""

ALLOWED: dict[tuple[str, str], str] = {}
"""Known upward edges (importer, imported module, exactly) with the reason they remain."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, bool]]:
    """(imported taxopt module, whether the import runs) for every import in a file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[str, bool]] = []

    def target(base: str, names: list[str]) -> list[str]:
        found = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules]
        return found + ([base] if len(found) < len(names) and base in modules else [])

    def visit(node: ast.AST, runs: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.body:
                    visit_one(sub, False)
                for sub in child.orelse:
                    visit_one(sub, runs)
                continue
            visit_one(child, runs)

    def visit_one(node: ast.AST, runs: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "taxopt":
                    mod = alias.name
                    while mod not in modules and "." in mod:
                        mod = mod.rpartition(".")[0]
                    out.append((mod, runs))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base.split(".")[0] == "taxopt":
                out.extend((m, runs) for m in target(base, [a.name for a in node.names]))
        visit(node, runs)

    visit(ast.parse(path.read_text(encoding="utf-8")), True)
    return out


def _layer(module: str) -> int:
    best, level = -1, -1
    for i, names in enumerate(LAYERS):
        for prefix in names:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), i
    assert level >= 0, f"{module} is in no layer; add it to LAYERS"
    return level


def _graph() -> dict[str, list[tuple[str, bool]]]:
    modules = _modules()
    return {name: [(m, runs) for m, runs in _imports(name, path, modules) if m != name]
            for name, path in modules.items()}




def test_every_module_has_a_layer():
    for name in _modules():
        _layer(name)


def test_no_layer_imports_a_higher_one():
    upward, used = [], set()
    for importer, edges in _graph().items():
        for imported, _ in edges:
            if _layer(imported) > _layer(importer):
                if (importer, imported) in ALLOWED:
                    used.add((importer, imported))
                else:
                    upward.append(f"{importer} -> {imported}")
    assert upward == [], "upward imports:\n" + "\n".join(sorted(set(upward)))
    assert set(ALLOWED) <= used, f"allowed but gone (shrink ALLOWED): {set(ALLOWED) - used}"


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, [])))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    v = stack.pop()
                    on.discard(v)
                    comp.append(v)
                    if v == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_circle():
    runtime = {name: sorted({m for m, runs in edges if runs}) for name, edges in _graph().items()}
    assert _cycles(runtime) == []


def test_the_checker_sees_lazy_and_circular_imports():
    # The graph must hold imports inside functions, or the test could not fail.
    graph = _graph()
    lazy = {m for m, _ in graph["taxopt.engine"]}
    assert "taxopt.explain" in lazy                      # imported inside _failed
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert _layer("taxopt.api.cvx.model") > _layer("taxopt.engine") > _layer("taxopt.model")
