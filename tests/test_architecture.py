"""The layout holds: no import cycle between any two modules, imports inside functions included."""

from __future__ import annotations

import grimp
import pytest


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: every group of two or more modules that import each other, in a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return groups


@pytest.mark.parametrize(("edges", "expected"), [
    ({"a": {"b"}, "b": set()}, []),
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"a"}}, []),  # a module naming itself is no cycle between modules
])
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert strongly_connected(edges) == expected


def test_no_module_imports_itself_back_through_others():
    graph = grimp.build_graph("tarjama", "flows")  # imports inside functions are in the graph too
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert strongly_connected(edges) == []
    # The graph does see a function-level import (the CLI imports the flows inside its commands).
    assert "flows.translate" in graph.find_modules_directly_imported_by("tarjama.cli")


def test_every_package_of_tarjama_is_in_a_layer():
    """The layers contract is not exhaustive by itself: a new package left out of it would go unchecked."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    layers = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    graph = grimp.build_graph("tarjama", "flows")
    top_level = {".".join(m.split(".")[:2]) for m in graph.modules if m.startswith("tarjama.")}
    assert top_level - named == set()  # tarjama/__init__.py (the version) is the only module outside the layers
    assert named - top_level - {"flows"} == set()  # and no layer names a package that is gone
