"""The deep constructions of Pascanu et al. 2014 (§2.1, §3.3, Fig. 2) drawn as one time step.

A construction is a small graph: boxes are layers (x_t, deep-input layers, transition layers, h_{t-1}, h_t,
deep-output layers, y_t) and every solid arrow is one weight matrix with its shape, so the arrows' sizes add up to
the weights-only count of Pascanu's Table 1 (docs/papers.md §1.2; for a gated cell each arrow stands for one matrix per
gate block). The wiring is the project's (see ``rnnlab.nets``):

- deep input: ``input_depth`` layers x_t -> i_1 -> ... before the recurrence (width ``input_hidden``);
- deep transition of depth L: layer 1 reads h_{t-1} (W_1) and the input (U_1); layers 2..L read the layer below
  (W_l); the top layer is h_t. DT(S) adds the shortcut S h_{t-1} and a second input path U_2 into the top layer;
- stacking K levels: level l > 1 reads h_t of level l-1 as its input, the output reads the top level;
- deep output of depth M: y_t = V_M phi(... phi(V_1 h_t)) (no h -> y shortcut).

``construction`` builds the graph (pure data), ``preset_construction`` the graph of a preset of
``rnnlab.nets.ARCHS`` (``preset_zoo``: of every one, asked there, so a new preset is drawn without a change here),
and ``architecture_diagram`` draws constructions with plotly shapes and annotations. ``cell_zoo`` tabulates every
registered cell (state, gates, parameters); ``cost_figure`` plots ``rnnlab.nets.cost.cost_table``. Elsewhere: the
papers' parameter tables set beside our counts in :mod:`rnnlab.viz.paper_tables`, the composer (free depths ->
``build_model`` arguments, and its widget) in :mod:`rnnlab.viz.cells_widget`, and what a model's time step costs
(FLOPs, measured milliseconds) in :mod:`rnnlab.nets.cost`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import plotly.graph_objects as go

from rnnlab.errors import RnnlabError, check_choice, check_positive
from rnnlab.nets.archs import ARCHS, DEPTH_KNOBS
from rnnlab.nets.knobs import MODEL_KNOBS

_COLORS = {"input": "#c6dbef", "hidden": "#fdd0a2", "intermediate": "#fee6ce", "previous": "#e5e5e5",
           "output": "#c7e9c0", "target": "#a1d99b"}
_EDGE_COLORS = {"weight": "#444444", "shortcut": "#d62728", "carry": "#9e9e9e"}
BOX_W, BOX_H = 1.0, 0.55
COLUMN, ROW = 1.7, 1.25


@dataclass(frozen=True)
class Node:
    """One layer of one time step: ``key`` is unique, ``label`` is HTML for plotly, ``width`` its units."""

    key: str
    label: str
    width: int
    kind: str  # input | hidden | intermediate | previous | output | target
    x: float
    y: float


@dataclass(frozen=True)
class Edge:
    """An arrow: ``kind`` weight (a matrix of n_in x n_out weights), shortcut (a matrix too), carry (no weights)."""

    source: str
    target: str
    name: str
    n_in: int
    n_out: int
    kind: str = "weight"

    @property
    def n_weights(self) -> int:
        return 0 if self.kind == "carry" else self.n_in * self.n_out


@dataclass
class Construction:
    """The layers and weight matrices of one time step of a deep RNN."""

    title: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def node(self, key: str) -> Node:
        return next(n for n in self.nodes if n.key == key)

    @property
    def n_weights(self) -> int:
        """Weights-only parameter count (Pascanu Table 1 convention: biases excluded)."""
        return sum(e.n_weights for e in self.edges)


def _sub(name: str, index: str) -> str:
    return f"{name}<sub>{index}</sub>" if index else name


def construction(n_in: int = 88, n_out: int = 88, hidden: int = 200, *, input_depth: int = 0,
                 input_hidden: int | None = None, transition_depth: int = 1, transition_hidden: int | None = None,
                 shortcut: bool = False, output_depth: int = 1, output_hidden: int | None = None, levels: int = 1,
                 title: str = "") -> Construction:
    """The graph of one time step for any combination of the four kinds of depth (see the module docstring)."""
    for what, value in (("n_in", n_in), ("n_out", n_out), ("hidden", hidden), ("transition_depth", transition_depth),
                        ("output_depth", output_depth), ("levels", levels)):
        check_positive(what, value)
    check_positive("input_depth", input_depth, allow_zero=True)
    if shortcut and transition_depth < 2:
        raise RnnlabError(f"shortcut=True needs transition_depth >= 2 (got {transition_depth}): the shortcut skips "
                          "the intermediate transition layers")
    input_hidden = input_hidden or hidden
    transition_hidden = transition_hidden or hidden
    output_hidden = output_hidden or hidden
    for what, value in (("input_hidden", input_hidden), ("transition_hidden", transition_hidden),
                        ("output_hidden", output_hidden)):
        check_positive(what, value)

    c = Construction(title=title)
    right = transition_depth * COLUMN  # column of h_t
    first = COLUMN  # column of the first transition layer
    c.nodes.append(Node("x", f"x<sub>t</sub><br>{n_in}", n_in, "input", first, 0.0))
    below, below_width = "x", n_in
    for i in range(1, input_depth + 1):
        key = f"in{i}"
        c.nodes.append(Node(key, f"{_sub('i', str(i))}<br>{input_hidden}", input_hidden, "intermediate", first,
                            i * ROW))
        c.edges.append(Edge(below, key, _sub("I", str(i)), below_width, input_hidden))
        below, below_width = key, input_hidden

    base = (input_depth + 1) * ROW
    for level in range(levels):
        y = base + level * 1.6 * ROW
        tag = f"{level + 1}" if levels > 1 else ""
        prev_key, top_key = f"h_prev{tag}", f"h{tag}"
        sup = f"<sup>({tag})</sup>" if tag else ""
        c.nodes.append(Node(prev_key, f"h{sup}<sub>t-1</sub><br>{hidden}", hidden, "previous", 0.0, y))
        source, source_width = prev_key, hidden
        for step in range(1, transition_depth + 1):
            is_top = step == transition_depth
            key = top_key if is_top else f"z{tag}_{step}"
            width = hidden if is_top else transition_hidden
            label = f"h{sup}<sub>t</sub><br>{hidden}" if is_top else f"z{sup}<sub>{step}</sub><br>{width}"
            c.nodes.append(Node(key, label, width, "hidden" if is_top else "intermediate", step * COLUMN, y))
            w_name = _sub("W", f"{tag}{step}" if transition_depth > 1 else tag)
            c.edges.append(Edge(source, key, w_name, source_width, width))
            if step == 1:
                c.edges.append(Edge(below, key, _sub("U", f"{tag}1" if transition_depth > 1 else tag),
                                    below_width, width))
            source, source_width = key, width
        if shortcut:
            c.edges.append(Edge(prev_key, top_key, _sub("S", tag), hidden, hidden, "shortcut"))
            c.edges.append(Edge(below, top_key, _sub("U", f"{tag}2"), below_width, hidden, "shortcut"))
        c.nodes.append(Node(f"next{tag}", f"→ t+1{sup}", 0, "previous", right + COLUMN * 0.75, y))
        c.edges.append(Edge(top_key, f"next{tag}", "", hidden, hidden, "carry"))
        below, below_width = top_key, hidden

    y = base + (levels - 1) * 1.6 * ROW
    for i in range(1, output_depth + 1):
        y += ROW
        is_last = i == output_depth
        key = "y" if is_last else f"d{i}"
        width = n_out if is_last else output_hidden
        label = f"y<sub>t</sub><br>{n_out}" if is_last else f"{_sub('d', str(i))}<br>{width}"
        c.nodes.append(Node(key, label, width, "target" if is_last else "output", right, y))
        c.edges.append(Edge(below, key, _sub("V", str(i) if output_depth > 1 else ""), below_width, width))
        below, below_width = key, width
    return c


def preset_construction(arch: str, n_in: int = 88, n_out: int = 88, hidden: int = 200,
                        transition_hidden: int | None = None, output_hidden: int | None = None,
                        levels: int | None = None) -> Construction:
    """The construction of a preset of ``rnnlab.nets.ARCHS`` (asked there: which constructions it turns on and its
    title), each active depth at its ``model_config`` default (one intermediate layer per deep map, as in all of
    Pascanu's experiments; ``levels`` stacked levels, default 2)."""
    check_choice("arch", arch, ARCHS)
    spec = ARCHS[arch]
    depths = {knob: (MODEL_KNOBS[knob].default if getattr(spec, flag) else 1) for flag, knob in DEPTH_KNOBS.items()}
    if spec.stacked and levels is not None:
        depths["levels"] = levels
    return construction(n_in, n_out, hidden, transition_hidden=transition_hidden, shortcut=spec.shortcut,
                        output_hidden=output_hidden, title=spec.label, **depths)


def preset_zoo(n_in: int = 88, n_out: int = 88, hidden: int = 200, **sizes) -> list[Construction]:
    """The construction of every preset of ``rnnlab.nets.ARCHS``, in its order (``sizes``: see
    :func:`preset_construction`); ``architecture_diagram(preset_zoo())`` draws them side by side."""
    return [preset_construction(arch, n_in, n_out, hidden, **sizes) for arch in ARCHS]


def architecture_diagram(constructions: Construction | list[Construction], title: str | None = None,
                         width: int = 1000, columns: int = 4) -> go.Figure:
    """Draw constructions side by side: boxes are shapes, arrows are annotations (hover an arrow's label for its
    matrix shape; hover a box for its width). Red arrows are the DT(S) shortcut paths."""
    if isinstance(constructions, Construction):
        constructions = [constructions]
    shapes, annotations, traces = [], [], []
    rows = [constructions[i:i + columns] for i in range(0, len(constructions), columns)]
    dy, right = 0.0, 0.0
    for row in reversed(rows):  # the first row is drawn on top
        offset, top = 0.0, 0.0
        for c in row:
            xs = [n.x for n in c.nodes]
            top = max(top, max(n.y for n in c.nodes))
            _draw(c, offset, dy, shapes, annotations, traces)
            centre = offset + (max(xs) + min(xs)) / 2
            if c.title:
                annotations.append(dict(x=centre, y=dy + max(n.y for n in c.nodes) + 0.75, showarrow=False,
                                        text=f"<b>{c.title}</b>", font=dict(size=14)))
            annotations.append(dict(x=centre, y=dy - 0.75, showarrow=False, font=dict(size=11),
                                    text=f"{c.n_weights:,} weights"))
            offset += max(xs) + 2.0
        right = max(right, offset)
        dy += top + 2.6
    # one layout update: adding shapes and annotations one by one costs ~50 ms each in plotly
    fig = go.Figure(data=traces, layout=dict(shapes=shapes, annotations=annotations))
    x_range, y_range = [-0.8, right - 1.0], [-1.1, dy - 1.5]
    fig.update_xaxes(visible=False, range=x_range)
    fig.update_yaxes(visible=False, range=y_range, scaleanchor="x", scaleratio=1)
    aspect = (y_range[1] - y_range[0]) / (x_range[1] - x_range[0])
    top_margin = 60 if title else 20
    fig.update_layout(template="plotly_white", showlegend=False, title=title, plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=top_margin, b=10), width=width,
                      height=int(top_margin + 10 + (width - 20) * aspect))
    return fig


def _border_point(source: Node, target: Node) -> tuple[tuple[float, float], tuple[float, float]]:
    """Arrow start and end on the borders of the two boxes (along the line between their centres)."""

    def shrink(a: Node, b: Node) -> tuple[float, float]:
        dx, dy = b.x - a.x, b.y - a.y
        if dx == 0 and dy == 0:
            return a.x, a.y
        sx = (BOX_W / 2) / abs(dx) if dx else float("inf")
        sy = (BOX_H / 2) / abs(dy) if dy else float("inf")
        s = min(sx, sy)
        return a.x + dx * s, a.y + dy * s

    return shrink(source, target), shrink(target, source)


def _draw(c: Construction, dx: float, dy: float, shapes: list, annotations: list, traces: list) -> None:
    """Append the shapes, annotations and hover trace of one construction, shifted by (dx, dy)."""
    nodes = {n.key: Node(n.key, n.label, n.width, n.kind, n.x, n.y + dy) for n in c.nodes}
    arrow = dict(xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2, text="")
    for e in c.edges:
        s, t = nodes[e.source], nodes[e.target]
        (x0, y0), (x1, y1) = _border_point(s, t)
        if e.kind == "shortcut" and e.source.startswith("h_prev"):  # h_{t-1} -> h_t runs above the transition row
            lift = 0.65
            shapes.append(dict(type="path", path=f"M {x0 + dx},{s.y + BOX_H / 2} C {s.x + dx},{s.y + lift + 0.35} "
                               f"{t.x + dx},{t.y + lift + 0.35} {t.x + dx - 0.15},{t.y + BOX_H / 2 + 0.02}",
                               line=dict(color=_EDGE_COLORS["shortcut"], width=1.6, dash="dot"), layer="below"))
            annotations.append(dict(arrow, x=t.x + dx - 0.15, y=t.y + BOX_H / 2, ax=t.x + dx - 0.35,
                                    ay=t.y + BOX_H / 2 + 0.3, arrowcolor=_EDGE_COLORS["shortcut"]))
            label_x, label_y = (s.x + t.x) / 2 + dx, s.y + lift + 0.12
        else:
            annotations.append(dict(arrow, x=x1 + dx, y=y1, ax=x0 + dx, ay=y0, arrowsize=1.1, arrowwidth=1.4,
                                    arrowcolor=_EDGE_COLORS[e.kind]))
            label_x, label_y = (x0 + x1) / 2 + dx, (y0 + y1) / 2
        if e.kind != "carry":
            annotations.append(dict(x=label_x, y=label_y, text=e.name, showarrow=False,
                                    bgcolor="rgba(255,255,255,0.85)", font=dict(size=11, color=_EDGE_COLORS[e.kind]),
                                    hovertext=f"{e.name}: {e.n_in} × {e.n_out} = {e.n_weights:,} weights"))
    for n in nodes.values():
        if n.key.startswith("next"):
            annotations.append(dict(x=n.x + dx, y=n.y, text=n.label, showarrow=False, font=dict(size=11, color="#777")))
            continue
        shapes.append(dict(type="rect", x0=n.x + dx - BOX_W / 2, x1=n.x + dx + BOX_W / 2, y0=n.y - BOX_H / 2,
                           y1=n.y + BOX_H / 2, fillcolor=_COLORS[n.kind], line=dict(color="#555", width=1)))
        annotations.append(dict(x=n.x + dx, y=n.y, text=n.label, showarrow=False, font=dict(size=11)))
    boxes = [n for n in nodes.values() if not n.key.startswith("next")]
    traces.append(go.Scatter(x=[n.x + dx for n in boxes], y=[n.y for n in boxes], mode="markers",
                             marker=dict(size=28, opacity=0), name=c.title or "layers",
                             hovertext=[f"{n.key}: {n.width} units ({n.kind})" for n in boxes], hoverinfo="text"))


def diagram_boxes(fig: go.Figure) -> int:
    """Number of layer boxes drawn in a diagram (rect shapes)."""
    return sum(1 for s in fig.layout.shapes if s.type == "rect")


def cell_summary(name: str, hidden: int = 128, n_in: int = 88) -> dict:
    """One row of the cell zoo: the cell's class, its state (h, or h and c), the gates a recording holds, the
    parameters of a plain ``rnn`` of it at width ``hidden``, and the first line of its docstring."""
    import torch

    from rnnlab.cells import CELLS
    from rnnlab.nets import build_model, count_params

    check_choice("cell", name, CELLS)
    cls = CELLS[name]
    model = build_model(arch="rnn", cell=name, n_in=n_in, n_out=n_in, hidden=hidden)
    with torch.no_grad():
        _, _, recording = model(torch.zeros(2, 1, n_in), record=True)
    layer = recording.layers[0]
    return {"cell": name, "class": cls.__name__, "state": "h, c" if layer.c is not None else "h",
            "gates recorded": ", ".join(layer.gates) or "-", f"parameters (hidden {hidden})": count_params(model),
            "summary": (cls.__doc__ or "").strip().splitlines()[0] if (cls.__doc__ or "").strip() else ""}


def cell_zoo(hidden: int = 128):
    """``cell_summary`` of every registered cell (``rnnlab.cells.CELLS``), one row each, as a DataFrame."""
    import pandas as pd

    from rnnlab.cells import CELLS

    return pd.DataFrame([cell_summary(name, hidden) for name in CELLS])


def cost_figure(costs, title: str | None = None) -> go.Figure:
    """Measured ms per step against FLOPs per step and sequence, one colour per cell, each point labelled by its
    arch (``rnnlab.nets.cost.cost_table``)."""
    figure = go.Figure()
    for cell, part in costs.groupby("cell", sort=False):
        figure.add_trace(go.Scatter(x=part["MFLOP/step"] * 1e6, y=part["ms/step"], mode="markers+text",
                                    text=part["arch"], textposition="top center", name=cell,
                                    hovertemplate="%{text}: %{x:,.0f} FLOP/step/seq, %{y:.3f} ms/step<extra>"
                                    + cell + "</extra>"))
    figure.update_layout(template="plotly_white", height=480, title=title,
                         xaxis_title="FLOPs per step and sequence (2 per weight)", yaxis_title="measured ms per step")
    return figure
