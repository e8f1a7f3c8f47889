"""The import graph of ``lib/rnnlab``, read from the source (every import, including those inside functions).

    python scripts/import_graph.py            # layer -> layers it imports, and any arrow that points up
    python scripts/import_graph.py --modules  # module -> modules it imports
    python scripts/import_graph.py --dot      # the layer graph for Graphviz (| dot -Tsvg > imports.svg)

The layers, lowest first (docs/code.md §1): a module may import its own layer's package and any lower layer,
never a higher one nor a different package on the same rank, and no module may reach itself through imports (no
cycles, lazy or not). ``tests/test_layering.py`` holds the package to this; the script exits 1 when it does not.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "rnnlab"

# Rank of each top-level module or subpackage of rnnlab; equal ranks may not import each other.
LAYERS: dict[str, int] = {
    "rnnlab": 0, "errors": 0,  # the package itself (__version__) and the one-line error type
    "paths": 1, "device": 1, "files": 1, "parallel": 1, "notebook_parameters": 1,  # small shared utilities
    "data": 2,
    "papers": 3,
    "cells": 4,
    "nets": 5,
    "train": 6,
    "campaigns": 7, "search": 7, "generate": 7,
    "viz": 8,
    "workbook": 9, "cli": 9, "notebook_setup": 9,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_files() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def module_imports() -> dict[str, set[str]]:
    """module -> the rnnlab modules it imports anywhere in its source (``from pkg import sub`` counts ``pkg.sub``)."""
    files = module_files()
    edges: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                submodules = [f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in files]
                targets = submodules or [module]
            else:
                continue
            edges[name].update(t for t in targets if t.split(".")[0] == "rnnlab" and t != name)
    return edges


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for source, targets in edges.items():
        graph[layer_of(source)].update(layer_of(t) for t in targets if layer_of(t) != layer_of(source))
    return graph


def upward_arrows(edges: dict[str, set[str]]) -> list[str]:
    """Every import that points up or sideways across layers, or involves a module of no known layer."""
    problems = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            a, b = layer_of(source), layer_of(target)
            if a == b:
                continue
            if a not in LAYERS or b not in LAYERS:
                unknown = a if a not in LAYERS else b
                problems.append(f"{source} -> {target}: '{unknown}' has no layer in scripts/import_graph.py LAYERS")
            elif LAYERS[b] >= LAYERS[a]:
                problems.append(f"{source} -> {target}: {a} (rank {LAYERS[a]}) imports {b} (rank {LAYERS[b]})")
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles between modules (strongly connected components of more than one module), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", action="store_true", help="print module -> modules instead of layers")
    parser.add_argument("--dot", action="store_true", help="print the layer graph in Graphviz dot")
    args = parser.parse_args(argv)
    edges = module_imports()
    if args.modules:
        for source in sorted(edges):
            print(f"{source} -> {', '.join(sorted(edges[source])) or '(nothing)'}")
    elif args.dot:
        print("digraph rnnlab {\n  rankdir=BT;")
        for source, targets in sorted(layer_graph(edges).items()):
            for target in sorted(targets):
                print(f'  "{source}" -> "{target}";')
        print("}")
    else:
        graph = layer_graph(edges)
        for layer in sorted(graph, key=lambda name: (LAYERS.get(name, 99), name)):
            rank = LAYERS.get(layer, "?")
            print(f"{rank} {layer:20s} -> {', '.join(sorted(graph[layer], key=lambda n: (LAYERS.get(n, 99), n)))}")
    problems = upward_arrows(edges) + [" <-> ".join(c) + ": import cycle" for c in cycles(edges)]
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    if not args.modules and not args.dot:
        print(f"{len(edges)} modules; {len(problems)} arrows pointing up or round")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
