"""Figures and tables of the paper reports (notebooks 10-12), from published campaign results (results/<paper>/).

Pure functions returning ``go.Figure`` or DataFrames: the report notebooks only choose what to show.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from rnnlab.viz.curves import PALETTE, learning_curves


def published_runs(results: str | Path, paper: str) -> pd.DataFrame:
    """The campaign table ``results/<paper>.csv`` (empty, with its columns, when nothing is published yet)."""
    from rnnlab.campaigns.results import COLUMNS

    path = Path(results) / f"{paper}.csv"
    return pd.read_csv(path) if path.exists() else pd.DataFrame(columns=list(COLUMNS))


def comparison_figure(joined: pd.DataFrame, title: str, metric: str = "nll") -> go.Figure:
    """Ours (per-frame and per-piece) beside the paper's number for every row of ``beside_paper``'s table."""
    rows = joined.copy()
    rows["label"] = rows["dataset"] + " · " + rows["arch"] + " · " + rows["cell"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=rows["label"], y=rows["paper"], mode="markers", name="paper",
                             marker=dict(symbol="x-thin", size=14, line=dict(width=3, color="#444"))))
    fig.add_trace(go.Scatter(x=rows["label"], y=rows["ours"], mode="markers", name="ours (per frame)",
                             marker=dict(size=11, color=PALETTE[0])))
    if rows["ours per piece"].notna().any():
        fig.add_trace(go.Scatter(x=rows["label"], y=rows["ours per piece"], mode="markers",
                                 name="ours (mean over pieces)", marker=dict(size=9, symbol="diamond",
                                                                            color=PALETTE[1])))
    fig.update_layout(title=title, template="plotly_white", height=430, yaxis_title=metric,
                      legend=dict(orientation="h", y=-0.35), xaxis_tickangle=-30)
    return fig


def campaign_curves(results: str | Path, paper: str, points: dict[str, str], metric: str = "nll") -> go.Figure:
    """Learning curves (per update and per second) of published points, ``{label: point}``."""
    runs = {}
    for label, point in points.items():
        folder = Path(results) / paper / point
        epochs = pd.read_csv(folder / "metrics.csv") if (folder / "metrics.csv").exists() else pd.DataFrame()
        updates = pd.read_csv(folder / "updates_binned.csv") if (folder / "updates_binned.csv").exists() \
            else pd.DataFrame()
        if len(epochs):
            runs[label] = (updates, epochs)
    return learning_curves(runs, metric=metric, smooth=1)


def lr_figure(results: str | Path, paper: str, points: dict[str, str]) -> go.Figure:
    """Learning rate and validation cost per epoch of published points (e.g. two readings of a schedule)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("learning rate (end of epoch)", "validation cost"))
    for i, (label, point) in enumerate(points.items()):
        path = Path(results) / paper / point / "metrics.csv"
        if not path.exists():
            continue
        epochs = pd.read_csv(path)
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=epochs["epoch"], y=epochs["lr"], name=label, line=dict(color=color),
                                 legendgroup=label), row=1, col=1)
        fig.add_trace(go.Scatter(x=epochs["epoch"], y=epochs["valid_metric"], name=label, showlegend=False,
                                 line=dict(color=color), legendgroup=label), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(template="plotly_white", height=380, legend=dict(orientation="h", y=-0.25))
    return fig


def ordering_checks(best: pd.DataFrame, claims: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Check orderings such as ``("lstm", ">", "lstm_nof")`` per task column of ``best`` (cells × tasks)."""
    rows = []
    for left, op, right in claims:
        for task in best.columns:
            a, b = best.loc[left, task], best.loc[right, task]
            holds = a > b if op == ">" else a >= b
            rows.append({"claim": f"{left} {op} {right}", "task": task, "ours": f"{a:.3f} vs {b:.3f}",
                         "holds": bool(holds)})
    return pd.DataFrame(rows, columns=["claim", "task", "ours", "holds"])
