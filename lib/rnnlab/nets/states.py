"""What a model does while it reads one sequence: every layer's states and gate activations, as numpy arrays.

``record_states`` runs a model over one piece (or sentence) from a zero state with ``record=True``
(:class:`rnnlab.nets.Recording`) and keeps, per recorded layer, h_t, c_t (LSTMs) and the activations the cell
recorded. Those are [0,1] gates (LSTM i, f, o; GRU z, r; a graph cell's sigmoid nodes) and candidates (LSTM g,
GRU/MUT n; a graph cell's tanh, relu, linear and arithmetic nodes): the cell says which are candidates
(``candidate_names``, read from the model's own cell instance) and :class:`PieceStates` keeps that, so an analysis
of gates (``rnnlab.viz.dynamics``: saturation) sees only the gates. ``record_corpus`` records a list of sequences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch

from rnnlab.data.layout import LOWEST_PITCH, note_name

_RECURRENT_LAYER = re.compile(r"^level(\d+)/step(\d+)$")  # the Recording's name of level k, transition step l


def notes_at(roll: np.ndarray) -> list[str]:
    """For each step of a (T, 88) piano roll (column j is MIDI pitch 21 + j), the names of the sounding notes
    ('rest' when none)."""
    return [" ".join(note_name(LOWEST_PITCH + j) for j in np.flatnonzero(row)) or "rest" for row in roll]


@dataclass
class PieceStates:
    """What a model did while reading one sequence; every array is numpy, time first.

    ``inputs``: the (T, 88) piano roll (music) or the (T,) token ids (text); ``tokens``: the token strings (text);
    ``h``/``c``: layer name -> (T, H); ``gates``: layer name -> name -> (T, H), every activation the cell recorded,
    [0,1] gates and candidates alike; ``candidate_names``: layer name -> those of its recorded names that are not
    [0,1] gates (the cell's ``candidate_names``). Layer names are the ``Recording``'s (``level0/step0`` …), bottom
    to top.
    """

    label: str
    inputs: np.ndarray
    h: dict[str, np.ndarray]
    c: dict[str, np.ndarray] = field(default_factory=dict)
    gates: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    tokens: list[str] | None = None
    candidate_names: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def layers(self) -> list[str]:
        return list(self.h)

    @property
    def recurrent_layers(self) -> list[str]:
        """Layers of the recurrence (``level*``), bottom to top; the deep input/output layers are left out."""
        return [name for name in self.h if name.startswith("level")] or self.layers

    @property
    def top(self) -> str:
        """The top recurrent layer: the state the output layer reads."""
        return self.recurrent_layers[-1]

    @property
    def roll(self) -> np.ndarray | None:
        return self.inputs if self.inputs.ndim == 2 else None

    def gate_names(self, layer: str) -> list[str]:
        """The [0,1] gates recorded in ``layer``, in the cell's order (candidates left out; [] for none)."""
        candidates = self.candidate_names.get(layer, ())
        return [name for name in self.gates.get(layer, {}) if name not in candidates]

    def gates_only(self) -> dict[str, dict[str, np.ndarray]]:
        """layer -> gate -> (T, H) for the [0,1] gates only; layers without a gate are left out."""
        found = {layer: {g: self.gates[layer][g] for g in self.gate_names(layer)} for layer in self.gates}
        return {layer: gates for layer, gates in found.items() if gates}

    def hover(self) -> list[str]:
        """What is heard or read at each step, for hover texts."""
        if self.tokens is not None:
            return list(self.tokens)
        return notes_at(self.inputs) if self.inputs.ndim == 2 else [str(i) for i in self.inputs]

    def __len__(self) -> int:
        return len(self.inputs)


def recorded_cell(model, layer: str):
    """The cell instance behind a recorded layer name (``level{k}/step{l}`` -> ``model.levels[k].cells[l]``), or
    None for a layer without one (deep input/output layers, or a model not built by ``rnnlab.nets``)."""
    match = _RECURRENT_LAYER.match(layer)
    if match is None:
        return None
    level, step = (int(g) for g in match.groups())
    try:
        return model.levels[level].cells[step]
    except (AttributeError, IndexError, TypeError):
        return None


@torch.no_grad()
def record_states(model, sequence: torch.Tensor, label: str = "", vocab: list[str] | None = None) -> PieceStates:
    """Run ``model`` over one sequence ((T, n_in) floats or (T,) ids) with ``record=True``, from a zero state, in
    eval mode (the model's mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        _, _, rec = model(sequence[:, None].to(device), None, record=True)
    finally:
        model.train(was_training)
    h = {layer.name: layer.h[:, 0].float().cpu().numpy() for layer in rec.layers}
    c = {layer.name: layer.c[:, 0].float().cpu().numpy() for layer in rec.layers if layer.c is not None}
    gates = {layer.name: {g: v[:, 0].float().cpu().numpy() for g, v in layer.gates.items()}
             for layer in rec.layers if layer.gates}
    candidates = {name: tuple(getattr(recorded_cell(model, name), "candidate_names", ())) for name in gates}
    inputs = sequence.cpu().numpy()
    tokens = [vocab[int(i)] for i in inputs] if vocab is not None and inputs.ndim == 1 else None
    return PieceStates(label, inputs, h, c, gates, tokens, candidates)


def record_corpus(model, sequences: list[torch.Tensor], vocab: list[str] | None = None) -> list[PieceStates]:
    """``record_states`` for every sequence of a corpus (e.g. a validation split), labelled ``#0``, ``#1`` …"""
    return [record_states(model, seq, label=f"#{i}", vocab=vocab) for i, seq in enumerate(sequences)]
