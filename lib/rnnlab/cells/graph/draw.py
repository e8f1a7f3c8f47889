"""A cell's graph drawn as a plotly figure (a pure function of the graph).

Columns are depths (the longest path from an input), so inputs sit on the left and h' / c' on the right. Inputs
are grey, Linear maps blue (each one a weight matrix), activations orange, element-wise ops green, outputs red;
each arrow goes from an argument to the node that reads it. Hover shows the node's own expression.
"""

from __future__ import annotations

import plotly.graph_objects as go

from rnnlab.cells.graph.nodes import BINARY, LEAVES, OUTPUTS, Graph, is_linear

COLORS = {"input": "#bdbdbd", "linear": "#9ecae1", "activation": "#fdae6b", "elementwise": "#a1d99b",
          "output": "#fb6a4a"}
SYMBOLS = {"+": "+", "*": "×", "-": "−", "sigmoid": "σ", "tanh": "tanh", "relu": "ReLU"}


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


def layout(graph: Graph) -> dict[int, tuple[float, float]]:
    """(column, row) of every node: column = depth from the inputs, rows spread evenly per column."""
    depth: list[int] = []
    for node in graph.nodes:
        depth.append(0 if not node.args else 1 + max(depth[a] for a in node.args))
    columns: dict[int, list[int]] = {}
    for i, d in enumerate(depth):
        columns.setdefault(d, []).append(i)
    positions = {}
    for d, members in columns.items():
        for k, i in enumerate(members):
            positions[i] = (float(d), (len(members) - 1) / 2 - k)
    return positions


def graph_figure(graph: Graph, title: str | None = None, names: dict[int, str] | None = None) -> go.Figure:
    """Draw ``graph`` (nodes as labelled markers, arguments → users as arrows); ``names`` overrides labels."""
    graph = graph.normalized()
    pos = layout(graph)
    names = names if names is not None else graph.labels
    outputs = {o: OUTPUTS[k] for k, o in enumerate(graph.outputs)}
    fig = go.Figure()
    for i, node in enumerate(graph.nodes):
        for a in node.args:
            (x0, y0), (x1, y1) = pos[a], pos[i]
            fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
                               showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1.2, arrowcolor="#666666",
                               standoff=14, startstandoff=14)
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
    fig.update_layout(title=title or "cell graph", template="plotly_white", height=420,
                      xaxis=dict(visible=False), yaxis=dict(visible=False), legend=dict(orientation="h"))
    return fig


def _expression(graph: Graph, i: int) -> str:
    node = graph.nodes[i]
    if node.op in LEAVES:
        return node.op
    args = ", ".join(f"n{a}" if graph.nodes[a].op not in LEAVES else graph.nodes[a].op for a in node.args)
    return f"n{i} = {node.op}({args})" + (f" bias+{node.bias:g}" if node.bias else "")
