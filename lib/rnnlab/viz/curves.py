"""Learning curves in the style of Chung et al. 2014, Fig. 2: training and validation cost against the number of
updates (top) and against wall-clock seconds (bottom), log-scale y. Pure functions returning ``go.Figure``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnlab.train.callbacks import Callback

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


def learning_curves(runs: dict[str, tuple[pd.DataFrame, pd.DataFrame]], metric: str = "nll",
                    log_y: bool = True, smooth: int = 10, max_points: int = 1500) -> go.Figure:
    """Curves of several runs: ``runs`` maps a label to (per-update table, per-epoch table) of a run record.

    Top row: train loss per update (smoothed over ``smooth`` updates) and validation metric per epoch, against
    updates; bottom row: the same against training wall-clock seconds. A run longer than ``max_points`` updates is
    drawn from every k-th point of its running mean over at least k updates (a figure of a 100k-update run stays
    small enough to save in a notebook).
    """
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.2,
                        subplot_titles=("against updates", "against wall-clock seconds (training)"))
    for i, (label, (updates, epochs)) in enumerate(runs.items()):
        color = PALETTE[i % len(PALETTE)]
        for row, x_updates, x_epochs in ((1, "update", "updates"), (2, "wall_seconds", "wall_seconds")):
            if len(updates):
                step = -(-len(updates) // max_points)
                y = updates["loss"].rolling(max(1, smooth, step), min_periods=1).mean()
                keep = list(range(len(updates) - 1, -1, -step))[::-1]  # every step-th point, ending on the last
                fig.add_trace(go.Scatter(x=updates[x_updates].iloc[keep], y=y.iloc[keep], mode="lines",
                                         name=f"{label} train (nats)",
                                         line=dict(color=color, width=1), opacity=0.6, legendgroup=label,
                                         showlegend=row == 1), row=row, col=1)
            if len(epochs):
                fig.add_trace(go.Scatter(x=epochs[x_epochs], y=epochs["valid_metric"], mode="lines+markers",
                                         name=f"{label} valid ({metric})", line=dict(color=color, width=2.5),
                                         legendgroup=label, showlegend=row == 1), row=row, col=1)
    fig.update_xaxes(title_text="updates", row=1, col=1)
    fig.update_xaxes(title_text="seconds", row=2, col=1)
    for row in (1, 2):
        fig.update_yaxes(type="log" if log_y else "linear", title_text=metric, row=row, col=1)
    fig.update_layout(height=650, template="plotly_white", legend=dict(orientation="h", y=-0.12))
    return fig


def run_curves(run_dirs: dict[str, str], metric: str = "nll", **kwargs) -> go.Figure:
    """``learning_curves`` read from run directories."""
    from rnnlab.train.runs import load_metrics

    return learning_curves({label: (load_metrics(d, "updates"), load_metrics(d)) for label, d in run_dirs.items()},
                           metric=metric, **kwargs)


class LiveCurves(Callback):
    """Redraws ``learning_curves`` in a plotly FigureWidget while training (every ``every`` updates and each
    epoch). Headless (``widget=False``) it only keeps the data; ``figure()`` returns the static figure.

    ``metric``: the validation metric's name (``nll``, ``bpc``, ``accuracy``, ...) on the y axes and in the legend;
    None takes the trainer's when training begins (the widget is drawn before the trainer has loaded its data)."""

    def __init__(self, label: str, metric: str | None = None, every: int = 20, widget: bool = True):
        self.label, self.metric, self.every = label, metric, every
        self.updates: list[dict] = []
        self.epochs: list[dict] = []
        self.widget = go.FigureWidget(self.figure()) if widget else None

    def figure(self) -> go.Figure:
        return learning_curves({self.label: (pd.DataFrame(self.updates), pd.DataFrame(self.epochs))},
                               metric=self.metric or "")

    def on_train_begin(self, trainer) -> None:
        if self.metric != trainer.metric:
            self.metric = trainer.metric
            if self.widget is not None:
                self.widget.update_yaxes(title_text=self.metric)

    def _redraw(self) -> None:
        if self.widget is None:
            return
        fresh = self.figure()
        with self.widget.batch_update():
            self.widget.data = []
            self.widget.add_traces(list(fresh.data), rows=[1 if t.xaxis in (None, "x") else 2 for t in fresh.data],
                                   cols=[1] * len(fresh.data))

    def on_batch_end(self, trainer, info: dict) -> None:
        self.updates.append(info)
        if info["update"] % self.every == 0:
            self._redraw()

    def on_epoch_end(self, trainer, row: dict) -> None:
        self.epochs.append(row)
        self._redraw()
