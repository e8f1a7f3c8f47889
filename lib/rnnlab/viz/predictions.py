"""What a music model predicts for a real piece: its per-key probabilities under the true piano roll, and how
surprised it is at every step (−log p of the real next frame, in nats; its mean is the NLL per time step).

Inputs are the outputs of :mod:`rnnlab.generate` (``frame_probabilities``, ``step_log_likelihood``) and a piano
roll (T, 88) whose column j is MIDI pitch 21 + j. Pure functions returning ``go.Figure``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnlab.data.layout import LOWEST_PITCH
from rnnlab.errors import RnnlabError
from rnnlab.viz.datasets import note_name

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def pitch_window(*rolls, margin: int = 2, threshold: float = 0.05) -> tuple[int, int]:
    """Column range [lo, hi) covering every key that sounds (or has probability > ``threshold``) in any roll."""
    active = np.zeros(88, dtype=bool)
    for roll in rolls:
        active |= (_numpy(roll) > threshold).any(axis=0)
    if not active.any():
        return 39 - 12, 39 + 12  # around middle C
    keys = np.flatnonzero(active)
    return max(0, int(keys[0]) - margin), min(88, int(keys[-1]) + 1 + margin)


def prediction_roll(truth, probs, title: str = "", margin: int = 2) -> go.Figure:
    """Top: the real frames 1..T−1; below, one panel per model: its probability of each key at each step (teacher
    forcing), the real notes marked by dots. ``truth`` (T−1, 88) are the targets (``piece[1:]``); ``probs`` is one
    (T−1, 88) array or ``{label: array}`` for several models."""
    models = probs if isinstance(probs, dict) else {"model": probs}
    truth = _numpy(truth).astype(float)
    models = {label: _numpy(p).astype(float) for label, p in models.items()}
    for label, p in models.items():
        if truth.shape != p.shape or truth.ndim != 2 or truth.shape[1] != 88:
            raise RnnlabError(f"truth and {label} probabilities must both be (T, 88); got {truth.shape} and {p.shape}")
    lo, hi = pitch_window(truth, *models.values(), margin=margin)
    names = [note_name(LOWEST_PITCH + j) for j in range(lo, hi)]
    steps = np.arange(1, len(truth) + 1)
    rows = 1 + len(models)
    titles = ["the real piece (targets)"] + [f"{label}: p(key sounds | past); red dots: the real notes"
                                             for label in models]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.16 / rows, subplot_titles=titles)
    black_on_white = [[0, "white"], [1, "black"]]
    fig.add_trace(go.Heatmap(z=truth[:, lo:hi].T, x=steps, y=names, colorscale=black_on_white,
                             showscale=False, zmin=0, zmax=1, name="truth",
                             hovertemplate="step %{x}, %{y}: %{z:.0f}<extra>truth</extra>"), row=1, col=1)
    t_idx, k_idx = np.nonzero(truth[:, lo:hi])
    for row, (label, p) in enumerate(models.items(), start=2):
        fig.add_trace(go.Heatmap(z=p[:, lo:hi].T, x=steps, y=names, colorscale="Viridis", zmin=0, zmax=1,
                                 showscale=row == 2, colorbar=dict(title="p"), name=label,
                                 hovertemplate="step %{x}, %{y}: p = %{z:.3f}<extra>" + label + "</extra>"),
                      row=row, col=1)
        fig.add_trace(go.Scatter(x=steps[t_idx], y=[names[k] for k in k_idx], mode="markers", name="real notes",
                                 marker=dict(symbol="circle", size=4, color="#ff4040"),
                                 hovertemplate="step %{x}, %{y}: played<extra></extra>"), row=row, col=1)
    fig.update_xaxes(title_text="time step (quarter notes)", row=rows, col=1)
    fig.update_layout(title=title, template="plotly_white", height=220 + 230 * rows, showlegend=False)
    return fig


def likelihood_figure(piece, log_likelihoods: dict, title: str = "", margin: int = 2) -> go.Figure:
    """Top: the piece; bottom: −log p(x_{t+1} | x_{≤t}) per step for each model (``{label: (T−1,) log p}``), with
    each model's mean (its NLL per time step on this piece) as a dashed line."""
    piece = _numpy(piece).astype(float)
    if piece.ndim != 2 or piece.shape[1] != 88:
        raise RnnlabError(f"piece must be a (T, 88) piano roll, got shape {piece.shape}")
    lo, hi = pitch_window(piece, margin=margin)
    names = [note_name(LOWEST_PITCH + j) for j in range(lo, hi)]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.07, row_heights=[0.55, 0.45],
                        subplot_titles=("the piece", "surprise: −log p(next frame | past) in nats"))
    fig.add_trace(go.Heatmap(z=piece[:, lo:hi].T, x=np.arange(len(piece)), y=names, showscale=False, zmin=0, zmax=1,
                             colorscale=[[0, "white"], [1, "black"]],
                             hovertemplate="step %{x}, %{y}<extra></extra>"), row=1, col=1)
    for i, (label, logp) in enumerate(log_likelihoods.items()):
        nll = -_numpy(logp).astype(float)
        if len(nll) != len(piece) - 1:
            raise RnnlabError(f"{label}: {len(nll)} log-likelihoods for a piece of {len(piece)} frames "
                              f"(expected {len(piece) - 1}: one per predicted frame)")
        color = _PALETTE[i % len(_PALETTE)]
        fig.add_trace(go.Scatter(x=np.arange(1, len(piece)), y=nll, mode="lines", name=f"{label}",
                                 line=dict(color=color, width=1.5),
                                 hovertemplate="step %{x}: %{y:.2f} nats<extra>" + label + "</extra>"), row=2, col=1)
        fig.add_trace(go.Scatter(x=[1, len(piece) - 1], y=[nll.mean()] * 2, mode="lines",
                                 name=f"{label} mean {nll.mean():.2f}", line=dict(color=color, dash="dash")),
                      row=2, col=1)
    fig.update_xaxes(title_text="time step (quarter notes)", row=2, col=1)
    fig.update_yaxes(title_text="nats", row=2, col=1)
    fig.update_layout(title=title, template="plotly_white", height=600, legend=dict(orientation="h", y=-0.15))
    return fig
