"""Views of a search state (pure functions: a state in, a DataFrame or a plotly figure out)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from rnnlab.cells.graph import parse_equations
from rnnlab.search.loop import FILTER, TASKS, SearchState

STATUS_COLORS = {"passed": "#2ca02c", f"rejected:{FILTER}": "#c7c7c7", "rejected:arithmetic": "#ff7f0e",
                 "rejected:xml": "#d62728"}


def label(candidate: dict) -> str:
    return candidate["name"] or f"#{candidate['id']}"


def top_table(state: SearchState, n: int = 10) -> pd.DataFrame:
    """The top list: rank, candidate, fitness, best accuracy per task, evaluations, size, parent, transforms."""
    rows = []
    for rank, c in enumerate(state.top()[:n], 1):
        rows.append(dict(rank=rank, candidate=label(c), fitness=round(state.fitness(c), 3),
                         **{t: c["best"].get(t) for t in (FILTER, *TASKS)}, evaluations=len(c["evaluations"]),
                         operations=parse_equations(c["equations"]).n_operations(),
                         parent=None if c["parent"] is None else f"#{c['parent']}",
                         transforms="; ".join(c["mutations"])))
    return pd.DataFrame(rows)


def candidate_table(state: SearchState, candidate_id: int) -> pd.DataFrame:
    """Every evaluation of one candidate: step, task, each setting's hyperparameters and accuracy."""
    c = state.candidates[candidate_id]
    rows = []
    for evaluation in c["evaluations"]:
        for task, scores in evaluation["scores"].items():
            for hp, acc in zip(evaluation["settings"][task], scores, strict=False):
                rows.append(dict(step=evaluation["step"], task=task, accuracy=acc, lr=hp["lr"], init=hp["init"],
                                 clip=hp["clip"], seed=hp["seed"]))
    return pd.DataFrame(rows)


def history_figure(state: SearchState) -> go.Figure:
    """Every candidate by step: its fitness where it passed every task, else where it was rejected (at 0)."""
    fig = go.Figure()
    for status, color in STATUS_COLORS.items():
        members = [c for c in state.candidates if c["status"] == status]
        if not members:
            continue
        y = [state.fitness(c) if status == "passed" else 0.0 for c in members]
        fig.add_trace(go.Scatter(x=[c["step"] for c in members], y=y, mode="markers", name=status,
                                 marker=dict(color=color, size=7),
                                 text=[f"{label(c)}<br>{c['equations'].replace(chr(10), '<br>')}" for c in members],
                                 hoverinfo="text"))
    fig.add_hline(y=1.0, line_dash="dot", annotation_text="GRU")
    fig.update_layout(title="search history: fitness (min over tasks of accuracy ÷ GRU's) per candidate",
                      xaxis_title="step", yaxis_title="fitness", template="plotly_white", height=380)
    return fig


def accuracy_bars(table: pd.DataFrame) -> go.Figure:
    """Bars of the best accuracy per task of every cell in a comparison table (``rnnlab.search.compare``)."""
    fig = go.Figure()
    for cell, group in table.groupby("cell", sort=False):
        fig.add_trace(go.Bar(x=group["task"], y=group["best"], name=cell))
    fig.update_layout(barmode="group", title="best accuracy per task (same random settings for every cell)",
                      yaxis_title="accuracy", template="plotly_white", height=360)
    return fig


def equations_diff(state: SearchState, a: int, b: int) -> str:
    """A unified diff of two candidates' canonical equations (e.g. a child against its parent)."""
    import difflib

    first, second = state.candidates[a], state.candidates[b]
    lines = difflib.unified_diff(first["equations"].splitlines(), second["equations"].splitlines(),
                                 fromfile=label(first), tofile=label(second), lineterm="")
    return "\n".join(lines) or "(identical)"
