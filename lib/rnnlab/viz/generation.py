"""Figures and numbers for sampled music: piano rolls of samples at several temperatures (the primed part shaded)
and simple statistics that show what the temperature does.

Pure functions; the interactive sampler is :mod:`rnnlab.viz.generate_widget`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnlab.data.layout import LOWEST_PITCH
from rnnlab.viz.datasets import note_name, piano_roll_figure
from rnnlab.viz.predictions import pitch_window


def _numpy(roll) -> np.ndarray:
    return roll.detach().cpu().numpy() if hasattr(roll, "detach") else np.asarray(roll)


def generated_roll_figure(roll, prime_steps: int, title: str = "") -> go.Figure:
    """The piano roll of one sampled piece with the primed part (real frames the model read first) shaded."""
    fig = piano_roll_figure(_numpy(roll), title=title)
    if prime_steps:
        fig.add_vrect(x0=-0.5, x1=prime_steps - 0.5, fillcolor="#ff7f0e", opacity=0.15, line_width=0,
                      annotation_text="prime (real)", annotation_position="top left")
    return fig


def samples_figure(samples: dict, prime_steps: int = 0, title: str = "") -> go.Figure:
    """One piano-roll panel per sample (``{label: (T, 88) roll}``) on a shared pitch axis; prime shaded."""
    rolls = {label: _numpy(roll).astype(float) for label, roll in samples.items()}
    lo, hi = pitch_window(*rolls.values())
    names = [note_name(LOWEST_PITCH + j) for j in range(lo, hi)]
    fig = make_subplots(rows=len(rolls), cols=1, shared_xaxes=True, vertical_spacing=0.12 / max(len(rolls), 1),
                        subplot_titles=list(rolls))
    for row, (label, roll) in enumerate(rolls.items(), start=1):
        fig.add_trace(go.Heatmap(z=roll[:, lo:hi].T, x=np.arange(len(roll)), y=names, showscale=False, zmin=0,
                                 zmax=1, colorscale=[[0, "white"], [1, "#1f3b73"]], name=label,
                                 hovertemplate="step %{x}, %{y}<extra>" + label + "</extra>"), row=row, col=1)
        if prime_steps:
            fig.add_vrect(x0=-0.5, x1=prime_steps - 0.5, fillcolor="#ff7f0e", opacity=0.15, line_width=0,
                          row=row, col=1)
    fig.update_xaxes(title_text="time step (quarter notes); shaded: the real prime", row=len(rolls), col=1)
    fig.update_layout(title=title, template="plotly_white", height=160 + 230 * len(rolls), showlegend=False)
    return fig


def roll_statistics(roll, skip: int = 0) -> dict:
    """Notes per frame, silent frames, frames that repeat the previous one, distinct pitches and the pitch range
    of ``roll[skip:]`` (e.g. skip the prime of a sample)."""
    roll = _numpy(roll)[skip:] > 0
    if len(roll) == 0:
        return {"frames": 0}
    pitches = np.flatnonzero(roll.any(0)) + LOWEST_PITCH
    return {
        "frames": len(roll),
        "notes per frame": float(roll.sum(1).mean()),
        "silent frames": float((~roll.any(1)).mean()),
        "repeats previous frame": float((roll[1:] == roll[:-1]).all(1).mean()) if len(roll) > 1 else float("nan"),
        "distinct pitches": len(pitches),
        "range": f"{note_name(int(pitches.min()))}-{note_name(int(pitches.max()))}" if len(pitches) else "-",
    }


def statistics_table(samples: dict, skip: int = 0) -> pd.DataFrame:
    """``roll_statistics`` of each labelled roll, one row each."""
    return pd.DataFrame([{"piece": label, **roll_statistics(roll, skip)} for label, roll in samples.items()])
