"""The package's imports point one way: utilities -> data -> papers -> cells -> nets -> train
-> (campaigns, search, generate) -> viz -> (workbook, cli), with no import cycle between modules, lazy imports
included (issue 10).

The graph is read from the source by ``scripts/import_graph.py``, the same command the docs tell a reader to run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "import_graph.py"


@pytest.fixture(scope="module")
def graph():
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_module_has_a_layer(graph):
    edges = graph.module_imports()
    assert len(edges) > 80  # the walk found the package, not an empty folder
    missing = sorted({graph.layer_of(m) for m in edges} - set(graph.LAYERS))
    assert not missing, f"give these a rank in scripts/import_graph.py LAYERS: {missing}"


def test_no_import_points_up(graph):
    problems = graph.upward_arrows(graph.module_imports())
    assert not problems, "\n".join(problems)


def test_no_import_cycles(graph):
    found = graph.cycles(graph.module_imports())
    assert not found, "\n".join(" <-> ".join(c) for c in found)


def test_the_walk_sees_lazy_and_relative_imports(graph):
    """Imports inside functions count (a lazy import is still an arrow), and ``from pkg import sub`` names sub."""
    edges = graph.module_imports()
    assert "rnnlab.errors" in edges["rnnlab.cli"]
    assert any(t.startswith("rnnlab.train.") for t in edges["rnnlab.workbook"])


def test_the_checks_can_fail(graph):
    up = {"rnnlab.data.music": {"rnnlab.viz.curves"}, "rnnlab.viz.curves": set()}
    assert graph.upward_arrows(up) == ["rnnlab.data.music -> rnnlab.viz.curves: data (rank 2) imports viz (rank 8)"]
    sideways = {"rnnlab.search.loop": {"rnnlab.generate"}}
    assert graph.upward_arrows(sideways)
    unknown = {"rnnlab.newthing.x": {"rnnlab.errors"}}
    assert "no layer" in graph.upward_arrows(unknown)[0]
    loop = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert graph.cycles(loop) == [["a", "b", "c"]]
    assert graph.cycles({"a": {"b"}, "b": set()}) == []
