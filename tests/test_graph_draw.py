"""The drawing of a cell's graph (``rnnlab.cells.graph.draw``): every edge runs between adjacent columns (an edge that
skips columns bends through a waypoint in each, so it never runs through a node), no two points share a place, and
the figure leaves every row room for a marker and its label (two-state cells: up to nine rows)."""

from __future__ import annotations

import pytest

from rnnlab.cells.graph import LIBRARY, parse_equations
from rnnlab.cells.graph.draw import MIN_HEIGHT, ROW_PX, graph_figure, layout

MIN_ROW_PX = 50  # a 22 px marker plus a 14 px label above it, and a gap


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_every_edge_joins_adjacent_columns_and_no_two_points_share_a_place(name):
    graph = parse_equations(LIBRARY[name]).normalized()
    positions, routes = layout(graph)
    assert len(set(positions.values())) == len(positions)
    assert len(routes) == sum(len(node.args) for node in graph.nodes)
    for route in routes:
        xs = [positions[v][0] for v in route]
        assert all(b - a == 1 for a, b in zip(xs, xs[1:], strict=False)), (name, route, xs)
    for i in range(len(graph.nodes)):
        assert i in positions


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_rows_have_room_for_a_marker_and_its_label(name):
    fig = graph_figure(parse_equations(LIBRARY[name]), title=name)
    low, high = fig.layout.yaxis.range
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert plot_px / (high - low) >= MIN_ROW_PX, (name, fig.layout.height, high - low)
    assert fig.layout.height >= MIN_HEIGHT
    assert sum(len(trace.x) for trace in fig.data) == len(parse_equations(LIBRARY[name]).normalized().nodes)


def test_the_lstm_reads_c_through_waypoints_and_is_taller_than_the_old_fixed_420_px():
    graph = parse_equations(LIBRARY["lstm"]).normalized()
    positions, routes = layout(graph)
    c = graph.leaf("c")
    (route,) = [r for r in routes if r[0] == c]
    assert len(route) > 2  # c (column 0) is read by f * c several columns to the right
    fig = graph_figure(graph)
    assert len(fig.layout.shapes) == sum(len(r) > 2 for r in routes)
    assert fig.layout.height > 420 and fig.layout.height >= ROW_PX * 8
    labels = [t for trace in fig.data for t in trace.text]
    assert {"c'", "h'"} <= {t.split(":")[0] for t in labels}
