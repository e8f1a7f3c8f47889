"""Gradient flow: how far back the error of the last step reaches, and how gradients behave during training.

Pascanu, Mikolov & Bengio 2013 (arXiv 1211.5063): ∂L_T/∂h_t = ∂L_T/∂h_T · Π_{k=t+1..T} ∂h_k/∂h_{k-1}. When the
Jacobians' norms stay below 1 the product shrinks exponentially in T − t (vanishing gradients: the model cannot
learn long-range dependencies); above 1 it can explode (the cliffs that gradient-norm clipping cuts). Shortcuts
(DT(S)), gates (LSTM, GRU) and a forget-gate bias of 1 (LSTM-b) change how fast it decays.

Pure functions (figures) plus the two measurements they plot:

- ``last_step_grad_norms``: ‖∂L_T/∂h_t‖ for every t, with the loss on the LAST step only (``Recording.grad_h``).
- ``gradient_flow``: those curves for several architectures on a log axis, at initialisation and after training.
- ``layer_grad_norms`` / ``layer_norms_figure``: per-layer gradient norms over training (``GradNormRecorder``
  rows) with the clip threshold and the updates where clipping fired.
- ``spectral_norms_figure``: the largest singular value of every recurrent matrix over training
  (``SpectralNormRecorder`` rows); 1 is Pascanu et al.'s boundary (below it, sufficient for vanishing; above it,
  necessary for exploding, for the tanh RNN).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from rnnlab.errors import RnnlabError, check_choice, check_positive
from rnnlab.train.losses import token_losses
from rnnlab.train.trained import load_trained_model

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


# ---------------------------------------------------------------------------------------------- measurement
def gradient_batch(dataset, length: int, batch_size: int = 8, split: str = "valid",
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` windows of ``length`` + 1 steps from a split: inputs x (length, B, ...) and targets y.

    Windows are cut from sequences long enough to hold one (chosen at random by ``seed``); if none is, from the
    split's sequences joined end to end (PTB lines are short).
    """
    check_positive("length", length)
    check_positive("batch_size", batch_size)
    sequences = dataset.splits[split]
    rng = np.random.default_rng(seed)
    long_enough = [s for s in sequences if len(s) > length]
    if not long_enough:
        long_enough = [torch.cat(list(sequences))]
        if len(long_enough[0]) <= length:
            raise RnnlabError(f"split {split!r} holds {len(long_enough[0])} steps in all; length {length} is too long")
    windows = []
    for _ in range(batch_size):
        seq = long_enough[int(rng.integers(len(long_enough)))]
        start = int(rng.integers(len(seq) - length))
        windows.append(seq[start:start + length + 1])
    stacked = torch.stack(windows, dim=1)
    return stacked[:-1], stacked[1:]


def last_step_grad_norms(model, x: torch.Tensor, y: torch.Tensor, loss: str,
                         layers: list[str] | None = None) -> dict[str, np.ndarray]:
    """‖∂L_T/∂h_t‖ for every t and recurrent layer, where L_T is the loss of the LAST step only.

    ``loss``: ``bernoulli`` (music) or ``categorical`` (text). L_T is the last step's loss averaged over the B
    sequences; the returned curve (T,) per layer is the Euclidean norm over units, averaged over sequences.
    ``layers``: recorded layer names (default: every ``level*`` layer). Runs in eval mode (no dropout) from a zero
    state and leaves the model's parameter gradients cleared.
    """
    check_choice("loss", loss, ("bernoulli", "categorical"))
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            logits, _, rec = model(x, None, record=True)
            last = token_losses(logits[-1:], y[-1:], loss).mean()
            model.zero_grad(set_to_none=True)
            last.backward()
        names = layers if layers is not None else [n for n in rec.names if n.startswith("level")]
        curves = {name: rec.grad_h(name).norm(dim=-1).mean(dim=1).detach().cpu().numpy() for name in names}
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return curves


def top_layer_curve(curves: dict[str, np.ndarray]) -> np.ndarray:
    """The curve of the top recurrent layer: the last ``level*`` entry (else the last entry)."""
    recurrent = [name for name in curves if name.startswith("level")] or list(curves)
    return curves[recurrent[-1]]


def decay_per_step(curve: np.ndarray, window: int | None = None) -> float:
    """Average factor by which ‖∂L_T/∂h_t‖ changes per step back in time: the geometric mean of the successive
    ratios over the ``window`` steps before the last (< 1 vanishing, > 1 exploding).

    Where the gradient underflowed to 0 within the window (float32 ends near 1e-45), the rate is taken over the
    steps back to the furthest one still > 0; NaN when not even the step before the last is > 0.
    """
    curve = np.asarray(curve, dtype=np.float64)
    window = len(curve) - 1 if window is None else min(window, len(curve) - 1)
    if window <= 0 or curve[-1] <= 0:
        return float("nan")
    back = curve[len(curve) - 1 - window:-1]
    alive = np.flatnonzero(back > 0)
    if len(alive) == 0 or alive[-1] != len(back) - 1:
        return float("nan")
    breaks = np.flatnonzero(back <= 0)
    first = breaks[-1] + 1 if len(breaks) else 0  # the furthest step back with an unbroken run of gradients > 0
    steps = len(back) - first
    return float((back[first] / curve[-1]) ** (1.0 / steps))


def run_models(run_dir, dataset, checkpoints: tuple[str, ...] = ("init", "best")) -> dict[str, torch.nn.Module]:
    """Models of a finished run: ``init`` (rebuilt exactly as the trainer seeded and built it), ``best`` and
    ``last`` (from ``checkpoints/``), on CPU, in eval mode (``rnnlab.train.trained.load_trained_model``)."""
    for name in checkpoints:
        check_choice("checkpoint", name, ("init", "best", "last"))
    return {name: load_trained_model(run_dir, "initial" if name == "init" else name, dataset=dataset)[0]
            for name in checkpoints}


# ----------------------------------------------------------------------------------------------- figures
def gradient_flow(curves: dict, title: str = "", log_y: bool = True) -> go.Figure:
    """‖∂L_T/∂h_t‖ against t for several architectures.

    ``curves``: label -> (T,) array, or label -> {phase: (T,) array} (e.g. ``{"at init": …, "trained": …}``),
    which draws one panel per phase with a shared y axis. Zeros are left out on the log axis.
    """
    if not curves:
        raise RnnlabError("gradient_flow needs at least one curve")
    nested = isinstance(next(iter(curves.values())), dict)
    phases = list(dict.fromkeys(p for c in curves.values() for p in c)) if nested else [""]
    fig = make_subplots(rows=1, cols=len(phases), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=phases if nested else None)
    for k, (label, entry) in enumerate(curves.items()):
        color = PALETTE[k % len(PALETTE)]
        for col, phase in enumerate(phases, start=1):
            curve = entry.get(phase) if nested else entry
            if curve is None:
                continue
            curve = np.asarray(curve, dtype=np.float64)
            shown = np.where(curve > 0, curve, np.nan) if log_y else curve
            fig.add_trace(go.Scatter(x=np.arange(len(curve)), y=shown, mode="lines", name=label, legendgroup=label,
                                     showlegend=col == 1, line=dict(color=color, width=2),
                                     hovertemplate=f"{label}<br>t %{{x}}<br>‖∂L_T/∂h_t‖ %{{y:.3g}}<extra></extra>"),
                          row=1, col=col)
        for col in range(1, len(phases) + 1):
            fig.update_xaxes(title_text="time step t (the loss is at the last step T)", row=1, col=col)
    fig.update_yaxes(type="log" if log_y else "linear", exponentformat="power")  # every panel: the axes are matched
    fig.update_yaxes(title_text="‖∂L_T / ∂h_t‖", row=1, col=1)
    fig.update_layout(title=title or None, template="plotly_white", height=430,
                      legend=dict(orientation="h", y=-0.2), margin=dict(l=70, r=20, t=60, b=40))
    return fig


_LAYER_PATTERNS = (
    (re.compile(r"^levels\.(\d+)\.cells\.(\d+)\."), r"level\1/step\2"),
    (re.compile(r"^levels\.(\d+)\.shortcut_weight$"), r"level\1/shortcut"),
    (re.compile(r"^input_layers\.(\d+)\."), r"input/layer\1"),
    (re.compile(r"^output_layers\.(\d+)\."), r"output/layer\1"),
)


def layer_of(param: str) -> str:
    """The layer a parameter belongs to, named like the ``Recording``: ``levels.0.cells.1.weight_hh`` ->
    ``level0/step1``; ``readout.weight`` -> ``readout``; anything else: its module path."""
    for pattern, name in _LAYER_PATTERNS:
        match = pattern.match(param)
        if match:
            return match.expand(name)
    return param.rsplit(".", 1)[0] if "." in param else param


def layer_grad_norms(rows: list[dict] | pd.DataFrame, updates: list[dict] | pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-update, per-layer gradient norms from ``GradNormRecorder.rows`` (per-parameter norms).

    A layer's norm is sqrt(Σ over its parameters of norm²); the row ``layer == "total"`` is the norm over all
    parameters. The recorder runs after the trainer clipped the gradients in place, so on clipped updates its norms
    are the clipped ones (total = clip). Pass ``updates`` (the trainer's ``update_rows`` or the run's
    ``updates.csv``, whose ``grad_norm`` is the norm before clipping) to undo the clipping: clipping multiplies every
    gradient by the same factor, so each layer is rescaled by (norm before) / (recorded total).
    Columns: update, layer, grad_norm, clipped, clip.
    """
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["update", "layer", "grad_norm", "clipped", "clip"])
    table = table.assign(layer=table["param"].map(layer_of), squared=table["grad_norm"] ** 2)
    flags = table.groupby("update")[["clipped", "clip"]].first()
    per_layer = table.groupby(["update", "layer"], sort=False)["squared"].sum().pow(0.5).rename("grad_norm")
    total = table.groupby("update")["squared"].sum().pow(0.5).rename("grad_norm")
    out = pd.concat([per_layer.reset_index(), total.reset_index().assign(layer="total")], ignore_index=True)
    out = out.join(flags, on="update")
    if updates is not None:
        before = pd.DataFrame(updates).set_index("update")["grad_norm"]
        scale = (before / total).where(flags["clipped"].astype(bool), 1.0).reindex(out["update"]).fillna(1.0)
        out["grad_norm"] = out["grad_norm"].to_numpy() * scale.to_numpy()
    return out.sort_values(["update", "layer"], kind="stable").reset_index(drop=True)


def layer_norms_figure(rows: list[dict] | pd.DataFrame, updates: list[dict] | pd.DataFrame | None = None,
                       clip: float | None = None, title: str = "", smooth: int = 1) -> go.Figure:
    """Per-layer gradient norms against updates (log y), the total norm in black, the clip threshold as a dashed
    line and the updates where clipping fired as red crosses on the total norm. With ``updates`` (see
    ``layer_grad_norms``) the norms are those before clipping."""
    table = layer_grad_norms(rows, updates)
    if clip is None and len(table) and table["clip"].notna().any():
        clip = float(table["clip"].dropna().iloc[0])
    fig = go.Figure()
    layers = [name for name in dict.fromkeys(table["layer"]) if name != "total"]
    for k, layer in enumerate(layers):
        part = table[table["layer"] == layer]
        y = part["grad_norm"].rolling(max(1, smooth), min_periods=1).mean()
        fig.add_trace(go.Scatter(x=part["update"], y=y, mode="lines", name=layer,
                                 line=dict(color=PALETTE[k % len(PALETTE)], width=1.3), opacity=0.85))
    total = table[table["layer"] == "total"]
    if len(total):
        name = "total" if updates is not None else "total (after clipping)"
        fig.add_trace(go.Scatter(x=total["update"], y=total["grad_norm"], mode="lines", name=name,
                                 line=dict(color="#000000", width=2)))
        events = total[total["clipped"].astype(bool)]
        fig.add_trace(go.Scatter(x=events["update"], y=events["grad_norm"], mode="markers",
                                 name=f"clip events ({len(events)})",
                                 marker=dict(symbol="x", color="#d62728", size=8)))
    if clip is not None:
        fig.add_hline(y=clip, line=dict(color="#d62728", dash="dash"), annotation_text=f"clip = {clip:g}",
                      annotation_position="top left")
    fig.update_yaxes(type="log", title_text="gradient norm" + (" (before clipping)" if updates is not None else ""))
    fig.update_xaxes(title_text="update")
    fig.update_layout(title=title or None, template="plotly_white", height=430,
                      legend=dict(orientation="h", y=-0.2), margin=dict(l=70, r=20, t=60, b=40))
    return fig


def spectral_norms_figure(rows: list[dict] | pd.DataFrame, title: str = "") -> go.Figure:
    """Largest singular value of each recurrent matrix (and gate block) against epochs (0 = initialisation), from
    ``SpectralNormRecorder.rows``; the dashed line at 1 is Pascanu et al.'s boundary."""
    table = pd.DataFrame(rows)
    fig = go.Figure()
    if not table.empty:
        table = table.assign(series=table["param"] + np.where(table["block"] != "", " [" + table["block"] + "]", ""))
        for k, (series, part) in enumerate(table.groupby("series", sort=False)):
            fig.add_trace(go.Scatter(x=part["epoch"], y=part["spectral_norm"], mode="lines+markers", name=series,
                                     line=dict(color=PALETTE[k % len(PALETTE)])))
    fig.add_hline(y=1.0, line=dict(color="#555555", dash="dash"), annotation_text="σ_max = 1",
                  annotation_position="bottom right")
    fig.update_xaxes(title_text="epoch (0 = initialisation)", dtick=1)
    fig.update_yaxes(title_text="largest singular value σ_max")
    fig.update_layout(title=title or None, template="plotly_white", height=430,
                      legend=dict(orientation="v"), margin=dict(l=70, r=20, t=60, b=40))
    return fig
