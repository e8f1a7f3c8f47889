"""Hidden-state dynamics: what the units of a trained network do while it reads one piece (or sentence).

Pure functions returning ``plotly.graph_objects.Figure`` (the widgets in ``widgets.py`` only call them):

- ``activation_heatmap``: units × time heatmap aligned under the piano roll (music) or under the tokens (text),
  coloured red (−1) … blue (+1) as in Karpathy, Johnson & Fei-Fei 2015; hover for the value, the step and the
  notes/token there.
- ``select_units`` / ``find_matches`` / ``matches_figure``: LSTMVis (Strobelt et al. 2018). Select the units that
  are on (≥ threshold) over a brushed span [t0, t1] and off in the pad steps around it; then search the corpus
  for other spans where the same units fire together, ranked.
- ``pca_trajectory``: the path of h_t in its first 2 or 3 principal components, coloured by time, with the step
  picked by a time slider highlighted.
- ``saturation_table`` / ``gate_saturation``: Karpathy et al. 2015, Fig. 4: for every unit, the fraction of time
  its gate is left-saturated (< 0.1) against right-saturated (> 0.9), one panel per gate, one colour per layer;
  [0,1] gates only, as the cells name them (``PieceStates.gate_names``).
- ``side_by_side``: two architectures on the same piece, column by column.

They read the ``PieceStates`` that :func:`rnnlab.nets.states.record_states` records from a model (this module runs
no model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnlab.data.layout import LOWEST_PITCH, note_name
from rnnlab.errors import RnnlabError, check_choice, check_positive
from rnnlab.nets.states import PieceStates, notes_at

LAYER_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
ACTIVATION_SCALE = "RdBu"  # Karpathy et al.: red = −1, blue = +1


def layer_activations(states: PieceStates, layer: str | None = None, what: str = "h") -> np.ndarray:
    """(T, H) activations of one layer (default: the top recurrent layer); ``what`` is ``h`` or ``c``."""
    check_choice("state", what, ("h", "c"))
    layer = states.top if layer is None else layer
    source = states.h if what == "h" else states.c
    check_choice(f"layer (with a recorded {what})", layer, list(source))
    return source[layer]


# ------------------------------------------------------------------------------------------------ heatmap
def _input_trace(roll: np.ndarray | None, tokens: list[str] | None, hover: list[str]) -> go.Heatmap:
    if roll is not None:
        pitches = np.flatnonzero(roll.any(axis=0))
        lo, hi = (pitches.min(), pitches.max()) if len(pitches) else (39, 48)
        rows = np.arange(lo, hi + 1)
        return go.Heatmap(
            z=roll[:, rows].T, x=np.arange(len(roll)), y=[note_name(LOWEST_PITCH + int(j)) for j in rows],
            colorscale=[[0, "#ffffff"], [1, "#222222"]], showscale=False, name="input",
            customdata=np.tile(np.array(hover, dtype=object), (len(rows), 1)),
            hovertemplate="t %{x}<br>%{y}<br>sounding: %{customdata}<extra>piano roll</extra>")
    return go.Heatmap(
        z=np.zeros((1, len(tokens))), x=np.arange(len(tokens)), y=["text"], text=[tokens], texttemplate="%{text}",
        colorscale=[[0, "#f4f4f4"], [1, "#f4f4f4"]], showscale=False, name="input",
        hovertemplate="t %{x}: %{text}<extra>input</extra>")


def activation_heatmap(activations: np.ndarray, roll: np.ndarray | None = None, tokens: list[str] | None = None,
                       units: list[int] | np.ndarray | None = None, span: tuple[int, int] | None = None,
                       selected: list[int] | np.ndarray | None = None, title: str = "") -> go.Figure:
    """Units × time heatmap of (T, H) ``activations`` under the piano roll ``roll`` (T, 88) or the ``tokens``.

    ``units`` picks and orders the rows (default: all); ``span`` shades a brushed span [t0, t1]; ``selected``
    units are marked with a triangle at the left edge. Colours: red −1 … blue +1 (zmid 0).
    """
    activations = np.asarray(activations)
    if activations.ndim != 2:
        raise RnnlabError(f"activations must be (T, H), got shape {activations.shape}")
    steps, width = activations.shape
    units = np.arange(width) if units is None else np.asarray(units, dtype=int)
    hover = notes_at(roll) if roll is not None else (list(tokens) if tokens is not None else [""] * steps)
    has_input = roll is not None or tokens is not None
    rows = 2 if has_input else 1
    heights = ([0.25, 0.75] if roll is not None else [0.08, 0.92]) if has_input else [1.0]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=heights)
    if has_input:
        fig.add_trace(_input_trace(roll, tokens, hover), row=1, col=1)
    labels = [f"unit {u}" for u in units]
    fig.add_trace(go.Heatmap(
        z=activations[:, units].T, x=np.arange(steps), y=labels, zmid=0, colorscale=ACTIVATION_SCALE,
        name="activations", colorbar=dict(title="h", len=0.7, y=0.37 if has_input else 0.5),
        customdata=np.tile(np.array(hover, dtype=object), (len(units), 1)),
        hovertemplate="t %{x}<br>%{y}: %{z:.3f}<br>%{customdata}<extra></extra>"), row=rows, col=1)
    if selected is not None and len(selected):
        marked = [f"unit {u}" for u in selected if u in set(units.tolist())]
        fig.add_trace(go.Scatter(x=[-1.5] * len(marked), y=marked, mode="markers", name="selected",
                                 marker=dict(symbol="triangle-right", size=9, color="#111111"),
                                 hovertemplate="%{y} selected<extra></extra>"), row=rows, col=1)
    if span is not None:
        for row in range(1, rows + 1):
            fig.add_vrect(x0=span[0] - 0.5, x1=span[1] + 0.5, line=dict(color="#111111", width=1.5),
                          fillcolor="rgba(0,0,0,0)", row=row, col=1)
    fig.update_yaxes(autorange="reversed", showticklabels=len(units) <= 64, row=rows, col=1)
    fig.update_xaxes(title_text="time step t", row=rows, col=1)
    fig.update_layout(title=title or None, template="plotly_white", height=300 + 4 * min(len(units), 128),
                      margin=dict(l=70, r=20, t=50 if title else 20, b=40), showlegend=False)
    return fig


# ------------------------------------------------------------------------------------------ LSTMVis selection
def select_units(activations: np.ndarray, t0: int, t1: int, threshold: float = 0.3, pad_left: int = 0,
                 pad_right: int = 0) -> np.ndarray:
    """LSTMVis's selection: units with h ≥ ``threshold`` at every step of [t0, t1] (inclusive) and h < threshold
    at each of the ``pad_left`` steps before and ``pad_right`` steps after (pads clipped at the ends).

    Returns the sorted unit ids. With zero pads this is plain threshold selection over the span.
    """
    activations = np.asarray(activations)
    steps = activations.shape[0]
    if not 0 <= t0 <= t1 < steps:
        raise RnnlabError(f"span [{t0}, {t1}] must satisfy 0 <= t0 <= t1 < {steps} (the sequence length)")
    for name, pad in (("pad_left", pad_left), ("pad_right", pad_right)):
        check_positive(name, pad, allow_zero=True)
    on = activations >= threshold
    chosen = on[t0:t1 + 1].all(axis=0)
    chosen &= ~on[max(0, t0 - pad_left):t0].any(axis=0)
    chosen &= ~on[t1 + 1:t1 + 1 + pad_right].any(axis=0)
    return np.flatnonzero(chosen)


def strongest_signature(activations: np.ndarray, t0: int, t1: int, pad_left: int = 1, pad_right: int = 1,
                        k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """When no unit passes ``select_units`` at a fixed threshold: the ``k`` units whose on/off contrast is largest.

    A unit's margin is its lowest value over [t0, t1] minus its highest value over the pads; units with a positive
    margin switch on with the span for SOME threshold, and the midpoint of the two is that unit's threshold.
    Returns (units sorted by id, their thresholds) — pass both to ``find_matches``.
    """
    activations = np.asarray(activations)
    select_units(activations, t0, t1, 0.0, pad_left, pad_right)  # validates the span and pads
    inside = activations[t0:t1 + 1].min(axis=0)
    pads = np.concatenate([activations[max(0, t0 - pad_left):t0], activations[t1 + 1:t1 + 1 + pad_right]])
    if len(pads) == 0:
        raise RnnlabError("strongest_signature needs at least one pad step inside the sequence")
    outside = pads.max(axis=0)
    margin = inside - outside
    best = np.argsort(-margin, kind="stable")[:k]
    best = np.sort(best[margin[best] > 0])
    return best, (inside[best] + outside[best]) / 2


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True as inclusive (start, end) pairs."""
    padded = np.concatenate([[False], flags, [False]]).astype(int)
    edges = np.diff(padded)
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def find_matches(corpus: list[np.ndarray], units, threshold: float | np.ndarray = 0.3, min_fraction: float = 1.0,
                 min_length: int = 1, query_length: int | None = None, top: int | None = 20,
                 exclude: tuple[int, int, int] | None = None) -> pd.DataFrame:
    """Spans of the corpus where the selected ``units`` fire together (LSTMVis's match view).

    ``corpus``: one (T_i, H) activation array per sequence. A step is *on* when at least ``min_fraction`` of the
    units are ≥ ``threshold`` (one number, or one per unit); ``min_fraction=1`` (all of them) is LSTMVis's strict
    mode. A match is a maximal run of on steps of at least ``min_length`` steps. Matches are ranked by how close
    their length is to ``query_length`` (the brushed span's length; None ranks longest first), then by the mean
    activation of the units over the span.
    ``exclude=(sequence, t0, t1)`` drops the match that overlaps the query itself; ``top=None`` keeps every match.

    Columns: rank, sequence, start, end (inclusive), length, mean_activation.
    """
    units = np.asarray(units, dtype=int)
    columns = ["rank", "sequence", "start", "end", "length", "mean_activation"]
    if len(units) == 0:
        return pd.DataFrame(columns=columns)
    if not 0 < min_fraction <= 1:
        raise RnnlabError(f"min_fraction must be in (0, 1], got {min_fraction!r}")
    needed = int(np.ceil(min_fraction * len(units) - 1e-9))
    threshold = np.asarray(threshold, dtype=np.float64)
    if threshold.ndim and threshold.shape != units.shape:
        raise RnnlabError(f"threshold must be one number or one per unit ({len(units)}), got shape {threshold.shape}")
    rows = []
    for index, acts in enumerate(corpus):
        selected = np.asarray(acts)[:, units]
        on = (selected >= threshold).sum(axis=1) >= needed
        for start, end in _runs(on):
            length = end - start + 1
            if length < min_length:
                continue
            if exclude is not None and index == exclude[0] and start <= exclude[2] and end >= exclude[1]:
                continue
            rows.append({"sequence": index, "start": int(start), "end": int(end), "length": int(length),
                         "mean_activation": float(selected[start:end + 1].mean())})
    table = pd.DataFrame(rows, columns=columns[1:])
    if table.empty:
        return pd.DataFrame(columns=columns)
    distance = (table["length"] - query_length).abs() if query_length is not None else -table["length"]
    table = table.assign(_distance=distance).sort_values(["_distance", "mean_activation"], ascending=[True, False],
                                                         kind="stable")
    table = table.drop(columns="_distance").head(top if top is not None else len(table)).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def matches_figure(matches: pd.DataFrame, corpus: list[np.ndarray], units, context: int = 4,
                   hover: list[list[str]] | None = None, all_lengths: pd.Series | None = None) -> go.Figure:
    """The ranked matches as rows of a heatmap (mean activation of the selected units from ``context`` steps
    before each match to ``context`` after, aligned at its start), beside a histogram of match lengths.

    ``hover``: per corpus sequence, what is heard/read at each step (``PieceStates.hover()``).
    """
    units = np.asarray(units, dtype=int)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.75, 0.25], horizontal_spacing=0.15,
                        subplot_titles=("ranked matches (mean of the selected units)", "match lengths"))
    width = (int(matches["length"].max()) if len(matches) else 1) + 2 * context
    z = np.full((len(matches), width), np.nan)
    text = np.full((len(matches), width), "", dtype=object)
    for row, match in enumerate(matches.itertuples()):
        acts = np.asarray(corpus[match.sequence])[:, units].mean(axis=1) if len(units) else None
        for col in range(width):
            t = match.start - context + col
            if acts is not None and 0 <= t < len(acts) and t <= match.end + context:
                z[row, col] = acts[t]
                where = f"piece {match.sequence}, t {t}"
                text[row, col] = where + (f"<br>{hover[match.sequence][t]}" if hover is not None else "")
    labels = [f"#{m.rank}: piece {m.sequence} t{m.start}–{m.end}" for m in matches.itertuples()]
    fig.add_trace(go.Heatmap(z=z, x=np.arange(width) - context, y=labels, zmid=0, colorscale=ACTIVATION_SCALE,
                             customdata=text, name="matches",
                             colorbar=dict(title="mean h", x=0.655, xanchor="left", thickness=12),
                             hovertemplate="%{customdata}<br>mean h %{z:.3f}<extra></extra>"), row=1, col=1)
    lengths = all_lengths if all_lengths is not None else matches["length"]
    fig.add_trace(go.Histogram(x=lengths, name="lengths", marker_color="#555555", xbins=dict(size=1)), row=1, col=2)
    fig.add_vline(x=-0.5, line=dict(color="#111111", dash="dot"), row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_xaxes(title_text="steps from the match start", row=1, col=1)
    fig.update_xaxes(title_text=f"length (steps) of all {len(lengths)} matches", row=1, col=2)
    fig.update_layout(template="plotly_white", height=260 + 18 * len(matches), showlegend=False,
                      margin=dict(l=160, r=20, t=50, b=40))
    return fig


# ------------------------------------------------------------------------------------------------ PCA
def pca_project(states: np.ndarray, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Project (T, H) states on their first ``dims`` principal components.

    Returns (coordinates (T, dims), explained-variance ratio (dims,)). Each component's sign is fixed so that its
    largest-magnitude loading is positive (deterministic across runs).
    """
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 2 or states.shape[0] < 2:
        raise RnnlabError(f"PCA needs (T, H) states with T >= 2, got shape {states.shape}")
    dims = int(dims)
    if not 1 <= dims <= min(states.shape):
        raise RnnlabError(f"dims must be between 1 and {min(states.shape)}, got {dims}")
    centred = states - states.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:dims]
    flip = np.sign(components[np.arange(dims), np.abs(components).argmax(axis=1)])
    components = components * flip[:, None]
    variance = singular ** 2
    total = variance.sum()
    ratio = variance[:dims] / total if total > 0 else np.zeros(dims)
    return centred @ components.T, ratio


def pca_trajectory(states: np.ndarray, dims: int = 2, highlight: int | None = None, hover: list[str] | None = None,
                   title: str = "") -> go.Figure:
    """The path of h_t in its first ``dims`` (2 or 3) principal components, coloured by t; the step
    ``highlight`` (the time slider) is drawn as a large red marker."""
    check_choice("dims", dims, (2, 3))
    coords, ratio = pca_project(states, dims)
    steps = np.arange(len(coords))
    hover = [""] * len(coords) if hover is None else hover
    axes = [f"PC{k + 1} ({100 * r:.0f}% var.)" for k, r in enumerate(ratio)]
    marker = dict(color=steps, colorscale="Viridis", size=5 if dims == 2 else 3,
                  colorbar=dict(title="t", len=0.8))
    line = dict(color="rgba(120,120,120,0.5)", width=1)
    custom = np.stack([steps, np.array(hover, dtype=object)], axis=1)
    template = "t %{customdata[0]}<br>%{customdata[1]}<extra></extra>"
    if dims == 2:
        fig = go.Figure(go.Scatter(x=coords[:, 0], y=coords[:, 1], mode="lines+markers", marker=marker, line=line,
                                   customdata=custom, hovertemplate=template, name="trajectory"))
    else:
        fig = go.Figure(go.Scatter3d(x=coords[:, 0], y=coords[:, 1], z=coords[:, 2], mode="lines+markers",
                                     marker=marker, line=line, customdata=custom, hovertemplate=template,
                                     name="trajectory"))
    if highlight is not None:
        if not 0 <= highlight < len(coords):
            raise RnnlabError(f"highlight must be a step in [0, {len(coords) - 1}], got {highlight}")
        point = coords[highlight]
        now = dict(mode="markers", name="now", marker=dict(color="#d62728", size=14 if dims == 2 else 7,
                                                            line=dict(color="#000000", width=1)),
                   hovertemplate=f"t {highlight}<br>{hover[highlight]}<extra>now</extra>")
        trace = go.Scatter(x=[point[0]], y=[point[1]], **now) if dims == 2 else \
            go.Scatter3d(x=[point[0]], y=[point[1]], z=[point[2]], **now)
        fig.add_trace(trace)
    heading = title + (f" · t = {highlight}" if highlight is not None else "")
    fig.update_layout(title=heading or None, template="plotly_white", height=480, showlegend=False,
                      margin=dict(l=60, r=20, t=50, b=50))
    if dims == 2:
        fig.update_layout(xaxis_title=axes[0], yaxis_title=axes[1])
    else:
        fig.update_layout(scene=dict(xaxis_title=axes[0], yaxis_title=axes[1], zaxis_title=axes[2]))
    return fig


# --------------------------------------------------------------------------------------- gate saturation
def concat_gates(recorded: list[PieceStates]) -> dict[str, dict[str, np.ndarray]]:
    """The [0,1] gates of several pieces joined along time: layer -> gate -> (ΣT, H). Candidates (the activations
    each cell names in ``candidate_names``: LSTM g, GRU n, a graph cell's non-sigmoid nodes) are left out."""
    joined: dict[str, dict[str, list[np.ndarray]]] = {}
    for states in recorded:
        for layer, gates in states.gates_only().items():
            for gate, values in gates.items():
                joined.setdefault(layer, {}).setdefault(gate, []).append(values)
    return {layer: {g: np.concatenate(v) for g, v in gates.items()} for layer, gates in joined.items()}


def saturation_table(gates: dict[str, dict[str, np.ndarray]], low: float = 0.1, high: float = 0.9) -> pd.DataFrame:
    """Per layer, gate and unit: the fraction of steps with the gate < ``low`` (left-saturated) and > ``high``
    (right-saturated) — Karpathy, Johnson & Fei-Fei 2015, §4.2.

    ``gates``: layer -> gate -> (T, H) (or (T, B, H): all rows pooled), the [0,1] gates as ``concat_gates`` or
    ``PieceStates.gates_only`` give them. An activation that leaves [0, 1] is no gate (a candidate of a dict
    taken straight from ``PieceStates.gates``) and is left out. Columns: layer, gate, unit, left, right.
    """
    if not 0 <= low < high <= 1:
        raise RnnlabError(f"need 0 <= low < high <= 1, got low={low!r}, high={high!r}")
    frames = []
    for layer, by_gate in gates.items():
        for gate, values in by_gate.items():
            values = np.asarray(values)
            values = values.reshape(-1, values.shape[-1])
            if values.size and (values.min() < 0 or values.max() > 1):
                continue
            frames.append(pd.DataFrame({"layer": layer, "gate": gate, "unit": np.arange(values.shape[1]),
                                        "left": (values < low).mean(axis=0), "right": (values > high).mean(axis=0)}))
    if not frames:
        return pd.DataFrame(columns=["layer", "gate", "unit", "left", "right"])
    return pd.concat(frames, ignore_index=True)


def gate_saturation(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Karpathy et al.'s saturation scatter: one panel per gate, one point per unit, one colour per layer.

    x: fraction of time left-saturated (< 0.1), y: right-saturated (> 0.9). Points on the diagonal x + y = 1 are
    always saturated; right-saturated forget gates (top left) are the integrators that remember.
    """
    if table.empty:
        fig = go.Figure()
        fig.update_layout(title=title or "no gates: this cell has none (the tanh RNN)", template="plotly_white",
                          height=300)
        return fig
    gate_order = list(dict.fromkeys(table["gate"]))
    layers = list(dict.fromkeys(table["layer"]))
    fig = make_subplots(rows=1, cols=len(gate_order), subplot_titles=[f"gate {g}" for g in gate_order],
                        horizontal_spacing=0.06)
    for col, gate in enumerate(gate_order, start=1):
        fig.add_trace(go.Scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(color="#bbbbbb", dash="dash"),
                                 hoverinfo="skip", showlegend=False, name="x+y=1"), row=1, col=col)
        for k, layer in enumerate(layers):
            part = table[(table["gate"] == gate) & (table["layer"] == layer)]
            if part.empty:
                continue
            fig.add_trace(go.Scatter(
                x=part["left"], y=part["right"], mode="markers", name=layer, legendgroup=layer,
                showlegend=col == 1, marker=dict(color=LAYER_COLORS[k % len(LAYER_COLORS)], size=6, opacity=0.7),
                customdata=part["unit"],
                hovertemplate=f"{layer} gate {gate} unit %{{customdata}}<br>left %{{x:.2f}} right %{{y:.2f}}"
                              "<extra></extra>"), row=1, col=col)
        fig.update_xaxes(range=[-0.02, 1.02], title_text="fraction left-saturated (< 0.1)", row=1, col=col)
        fig.update_yaxes(range=[-0.02, 1.02], row=1, col=col)
    fig.update_yaxes(title_text="fraction right-saturated (> 0.9)", row=1, col=1)
    fig.update_layout(title=title or None, template="plotly_white", height=380, width=None,
                      legend=dict(orientation="h", y=-0.25), margin=dict(l=60, r=20, t=60, b=40))
    return fig


# ----------------------------------------------------------------------------------------------- comparison
def side_by_side(left: PieceStates, right: PieceStates, layer_left: str | None = None,
                 layer_right: str | None = None, max_units: int = 64, highlight: int | None = None) -> go.Figure:
    """Two architectures on the same piece, one column each: the input, the top layer's units × time heatmap (at
    most ``max_units`` units, those that vary most), and the PCA trajectory of h_t."""
    if len(left) != len(right):
        raise RnnlabError(f"side_by_side needs the same sequence: lengths {len(left)} and {len(right)} differ")
    pair = ((left, layer_left), (right, layer_right))
    fig = make_subplots(rows=3, cols=2, row_heights=[0.2, 0.45, 0.35], vertical_spacing=0.06,
                        horizontal_spacing=0.08, shared_xaxes=False,
                        subplot_titles=[s.label for s, _ in pair] + ["", "", "", ""])
    for col, (states, layer) in enumerate(pair, start=1):
        acts = layer_activations(states, layer)
        hover = states.hover()
        fig.add_trace(_input_trace(states.roll, states.tokens, hover), row=1, col=col)
        units = np.sort(np.argsort(-acts.std(axis=0), kind="stable")[:max_units])
        fig.add_trace(go.Heatmap(
            z=acts[:, units].T, x=np.arange(len(acts)), y=[f"unit {u}" for u in units], zmid=0, zmin=-1, zmax=1,
            colorscale=ACTIVATION_SCALE, name=f"{states.label} activations", showscale=col == 2,
            colorbar=dict(title="h", len=0.4, y=0.55),
            customdata=np.tile(np.array(hover, dtype=object), (len(units), 1)),
            hovertemplate="t %{x}<br>%{y}: %{z:.3f}<br>%{customdata}<extra></extra>"), row=2, col=col)
        coords, ratio = pca_project(acts, 2)
        steps = np.arange(len(coords))
        fig.add_trace(go.Scatter(
            x=coords[:, 0], y=coords[:, 1], mode="lines+markers", name=f"{states.label} trajectory",
            marker=dict(color=steps, colorscale="Viridis", size=4, showscale=False),
            line=dict(color="rgba(120,120,120,0.5)", width=1), customdata=steps,
            hovertemplate="t %{customdata}<extra></extra>"), row=3, col=col)
        if highlight is not None:
            fig.add_trace(go.Scatter(x=[coords[highlight, 0]], y=[coords[highlight, 1]], mode="markers",
                                     name=f"{states.label} now", marker=dict(color="#d62728", size=12)),
                          row=3, col=col)
        fig.update_yaxes(autorange="reversed", showticklabels=False, row=2, col=col)
        fig.update_xaxes(matches=f"x{col + 2}", row=1, col=col)  # the input shares the heatmap's time axis
        fig.update_xaxes(title_text=f"PC1 ({100 * ratio[0]:.0f}%)", row=3, col=col)
        fig.update_yaxes(title_text=f"PC2 ({100 * ratio[1]:.0f}%)", row=3, col=col)
    fig.update_layout(template="plotly_white", height=900, showlegend=False, margin=dict(l=60, r=20, t=50, b=40))
    return fig
