"""A cell's graph drawn as a plotly figure (a pure function of the graph).

Columns are depths (the longest path from an input), so inputs sit on the left and h' / c' on the right. Inputs
are grey, Linear maps blue (each one a weight matrix), activations orange, element-wise ops green, outputs red;
each arrow goes from an argument to the node that reads it. Hover shows the node's own expression.

The layout is a small layered (Sugiyama-style) drawing, so that two-state cells such as the LSTM, whose columns hold
up to eight nodes and whose ``c`` is read far to the right, stay legible: an edge that skips columns passes through
a waypoint in every column it crosses (it bends around the nodes there instead of running through them); the nodes
of each column are ordered by the mean position of their neighbours, sweeping left and right and keeping the order
with the fewest crossings; the figure is as tall as its fullest column needs, so a label never overlaps the node
above it.
"""

from __future__ import annotations

import plotly.graph_objects as go

from rnnlab.cells.graph.nodes import BINARY, LEAVES, OUTPUTS, Graph, is_linear

COLORS = {"input": "#bdbdbd", "linear": "#9ecae1", "activation": "#fdae6b", "elementwise": "#a1d99b",
          "output": "#fb6a4a"}
SYMBOLS = {"+": "+", "*": "×", "-": "−", "sigmoid": "σ", "tanh": "tanh", "relu": "ReLU"}
ROW_PX = 64  # vertical pixels per row of the fullest column (a marker, its label and a gap)
MIN_HEIGHT = 380
SWEEPS = 12  # ordering sweeps (left to right and back); graphs of <= 40 operations settle within a few


def node_kind(graph: Graph, i: int) -> str:
    op = graph.nodes[i].op
    if i in graph.outputs:
        return "output"
    if op in LEAVES:
        return "input"
    if is_linear(op):
        return "linear"
    return "elementwise" if op in BINARY else "activation"


def node_label(graph: Graph, i: int) -> str:
    node = graph.nodes[i]
    if node.op in LEAVES:
        return node.op
    if is_linear(node.op):
        text = "W" if node.op == "lin" else f"W+{node.op[4:-1]}I"
        return text + (f" b+{node.bias:g}" if node.bias else "")
    return SYMBOLS.get(node.op, node.op)


def depths(graph: Graph) -> list[int]:
    """Column of every node: the longest path from an input (inputs 0)."""
    depth: list[int] = []
    for node in graph.nodes:
        depth.append(0 if not node.args else 1 + max(depth[a] for a in node.args))
    return depth


def _routes(graph: Graph, depth: list[int]) -> tuple[list[tuple[int, ...]], dict[int, int]]:
    """One route per edge (argument occurrence): the argument, a waypoint id in every column the edge crosses, the
    reader. Waypoints get ids from ``len(graph.nodes)`` on; returns the routes and every waypoint's column."""
    routes, column = [], {}
    next_id = len(graph.nodes)
    for i, node in enumerate(graph.nodes):
        for a in node.args:
            route = [a]
            for d in range(depth[a] + 1, depth[i]):
                column[next_id] = d
                route.append(next_id)
                next_id += 1
            routes.append((*route, i))
    return routes, column


def _crossings(columns: list[list[int]], pairs: list[tuple[int, int]], rank: dict[int, int],
               col: dict[int, int]) -> int:
    by_column: dict[int, list[tuple[int, int]]] = {}
    for u, v in pairs:
        by_column.setdefault(col[u], []).append((rank[u], rank[v]))
    total = 0
    for segs in by_column.values():
        for k, (a, b) in enumerate(segs):
            total += sum((a - c) * (b - d) < 0 for c, d in segs[k + 1:])
    return total


def layout(graph: Graph) -> tuple[dict[int, tuple[float, float]], list[tuple[int, ...]]]:
    """(column, row) of every node and waypoint, and the routes of the edges (see ``_routes``).

    Rows are ordered by the barycentre heuristic (each node at the mean rank of its neighbours in the column before,
    then after), keeping the order with the fewest crossings, and centred per column."""
    depth = depths(graph)
    routes, waypoint_column = _routes(graph, depth)
    col = {i: d for i, d in enumerate(depth)} | waypoint_column
    pairs = [(route[k], route[k + 1]) for route in routes for k in range(len(route) - 1)]
    before: dict[int, list[int]] = {v: [] for v in col}
    after: dict[int, list[int]] = {v: [] for v in col}
    for u, v in pairs:
        after[u].append(v)
        before[v].append(u)
    n_columns = max(col.values()) + 1
    columns: list[list[int]] = [[] for _ in range(n_columns)]
    for v in sorted(col):  # nodes in topological order, waypoints in the order of their edges
        columns[col[v]].append(v)

    def ranks(cols):
        return {v: k for members in cols for k, v in enumerate(members)}

    rank = ranks(columns)
    best, best_crossings = [list(c) for c in columns], _crossings(columns, pairs, rank, col)
    for sweep in range(SWEEPS):
        order = range(1, n_columns) if sweep % 2 == 0 else range(n_columns - 2, -1, -1)
        neighbours = before if sweep % 2 == 0 else after
        for d in order:
            def key(v, neighbours=neighbours):
                near = neighbours[v]
                return (sum(rank[u] for u in near) / len(near), rank[v]) if near else (rank[v], rank[v])
            columns[d].sort(key=key)
            rank.update({v: k for k, v in enumerate(columns[d])})
        crossings = _crossings(columns, pairs, rank, col)
        if crossings < best_crossings:
            best, best_crossings = [list(c) for c in columns], crossings
        if best_crossings == 0:
            break
    positions = {}
    for d, members in enumerate(best):
        for k, v in enumerate(members):
            positions[v] = (float(d), (len(members) - 1) / 2 - k)
    return positions, routes


def graph_figure(graph: Graph, title: str | None = None, names: dict[int, str] | None = None) -> go.Figure:
    """Draw ``graph`` (nodes as labelled markers, arguments → users as arrows); ``names`` overrides labels."""
    graph = graph.normalized()
    pos, routes = layout(graph)
    names = names if names is not None else graph.labels
    outputs = {o: OUTPUTS[k] for k, o in enumerate(graph.outputs)}
    fig = go.Figure()
    shapes = []
    for route in routes:  # one arrow per edge; an edge across columns bends through its waypoints
        points = [pos[v] for v in route]
        if len(points) > 2:
            path = "M " + " L ".join(f"{x:g},{y:g}" for x, y in points[:-1])
            shapes.append(dict(type="path", path=path, xref="x", yref="y", layer="below",
                               line=dict(color="#666666", width=1.2)))
        (x0, y0), (x1, y1) = points[-2], points[-1]
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
                           showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1.2, arrowcolor="#666666",
                           standoff=14, startstandoff=0 if len(points) > 2 else 14)
    for kind, color in COLORS.items():
        members = [i for i in range(len(graph.nodes)) if node_kind(graph, i) == kind]
        if not members:
            continue
        text = []
        for i in members:
            label = node_label(graph, i)
            name = outputs.get(i) or names.get(i)
            text.append(f"{name}: {label}" if name else label)
        hover = [_expression(graph, i) for i in members]
        fig.add_trace(go.Scatter(
            x=[pos[i][0] for i in members], y=[pos[i][1] for i in members], mode="markers+text", name=kind,
            text=text, textposition="top center", hovertext=hover, hoverinfo="text",
            marker=dict(size=22, color=color, line=dict(width=1, color="#333333")),
        ))
    rows = max(sum(1 for v in pos if pos[v][0] == d) for d in {p[0] for p in pos.values()})
    top = max(y for _, y in pos.values())
    columns = max(x for x, _ in pos.values())
    fig.update_layout(title=title or "cell graph", template="plotly_white", shapes=shapes,
                      height=max(MIN_HEIGHT, ROW_PX * rows + 150), margin=dict(l=20, r=20, t=60, b=40),
                      xaxis=dict(visible=False, range=[-0.5, columns + 0.5]),
                      yaxis=dict(visible=False, range=[-top - 0.6, top + 0.8]),
                      legend=dict(orientation="h"))
    return fig


def _expression(graph: Graph, i: int) -> str:
    node = graph.nodes[i]
    if node.op in LEAVES:
        return node.op
    args = ", ".join(f"n{a}" if graph.nodes[a].op not in LEAVES else graph.nodes[a].op for a in node.args)
    return f"n{i} = {node.op}({args})" + (f" bias+{node.bias:g}" if node.bias else "")
