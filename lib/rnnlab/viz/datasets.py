"""Figures of the datasets (piano rolls, note frequency, polyphony, sequence lengths) as pure functions returning
plotly ``go.Figure`` (notebooks/01_datasets.ipynb only calls them); moved here from ``rnnlab.data.plots``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from rnnlab.data.layout import LOWEST_PITCH, N_KEYS, note_name


def piano_roll_figure(roll, title: str = "", start: int = 0, frames: int | None = None,
                      crop: bool = True) -> go.Figure:
    """Heatmap of a (T, 88) roll: time steps across, MIDI pitch up (cropped to the pitches used, +-2)."""
    roll = np.asarray(roll)[start:None if frames is None else start + frames]
    low, high = 0, N_KEYS - 1
    used = np.flatnonzero(roll.any(0))
    if crop and len(used):
        low, high = max(0, used.min() - 2), min(N_KEYS - 1, used.max() + 2)
    pitches = np.arange(low, high + 1) + LOWEST_PITCH
    figure = go.Figure(go.Heatmap(
        z=roll[:, low:high + 1].T, x=np.arange(start, start + roll.shape[0]), y=pitches,
        colorscale=[[0, "white"], [1, "#1f3b73"]], showscale=False, zmin=0, zmax=1,
        customdata=np.array([[note_name(int(p))] * roll.shape[0] for p in pitches]),
        hovertemplate="step %{x}<br>MIDI %{y} (%{customdata})<extra></extra>",
    ))
    c_ticks = [p for p in pitches if p % 12 == 0]
    figure.update_layout(title=title, xaxis_title="time step", yaxis_title="MIDI pitch", height=420,
                         yaxis={"tickvals": c_ticks, "ticktext": [f"{note_name(p)} ({p})" for p in c_ticks]})
    return figure


def _datasets(datasets) -> list:
    return list(datasets) if isinstance(datasets, list | tuple) else [datasets]


def note_frequency_figure(datasets, split: str = "train") -> go.Figure:
    """Share of all sounding notes at each MIDI pitch, one bar trace per dataset (overlaid for comparison)."""
    figure = go.Figure()
    for ds in _datasets(datasets):
        counts = torch.cat(ds.splits[split]).sum(0).numpy() if ds.splits[split] else np.zeros(N_KEYS)
        pitches = np.arange(N_KEYS) + LOWEST_PITCH
        figure.add_bar(x=pitches, y=counts / max(counts.sum(), 1), name=ds.name, opacity=0.7,
                       customdata=[note_name(int(p)) for p in pitches],
                       hovertemplate="MIDI %{x} (%{customdata}): %{y:.2%}<extra>" + ds.name + "</extra>")
    figure.update_layout(title=f"Note frequency ({split})", xaxis_title="MIDI pitch", yaxis_title="share of notes",
                         barmode="overlay", yaxis_tickformat=".0%", height=380)
    return figure


def polyphony_histogram_figure(datasets, split: str = "train") -> go.Figure:
    """Share of time steps with k notes sounding, one bar trace per dataset."""
    figure = go.Figure()
    for ds in _datasets(datasets):
        polyphony = torch.cat(ds.splits[split]).sum(1).long().numpy() if ds.splits[split] else np.zeros(0, int)
        counts = np.bincount(polyphony)
        figure.add_bar(x=np.arange(len(counts)), y=counts / max(counts.sum(), 1), name=ds.name, opacity=0.7,
                       hovertemplate="%{x} notes: %{y:.2%}<extra>" + ds.name + "</extra>")
    figure.update_layout(title=f"Polyphony ({split})", xaxis_title="notes sounding at a time step",
                         yaxis_title="share of time steps", barmode="group", yaxis_tickformat=".0%", height=380)
    return figure


def length_histogram_figure(datasets, split: str = "train") -> go.Figure:
    """Distribution of sequence lengths (time steps or tokens), one histogram per dataset."""
    figure = go.Figure()
    for ds in _datasets(datasets):
        figure.add_histogram(x=[len(s) for s in ds.splits[split]], name=ds.name, opacity=0.7, nbinsx=40)
    figure.update_layout(title=f"Sequence lengths ({split})", xaxis_title="length", yaxis_title="sequences",
                         barmode="overlay", height=380)
    return figure
