"""Deep recurrent networks: Pascanu et al.'s constructions for any cell, presets, recording, parameter counts.

    from rnnlab.nets import ARCHS, build_model, RecurrentNet, Recording, count_weights, count_params
    model = build_model(arch="dts-rnn", cell="gru", n_in=88, n_out=88, hidden=400)
    logits, state = model(x)                       # x (T,B,88) -> logits (T,B,88)
    logits, state, rec = model(x, record=True)     # rec.layers, rec.grad_h(name) after backward
"""

from __future__ import annotations

from rnnlab.nets.archs import ARCHS, Arch
from rnnlab.nets.counting import count_params, count_weights
from rnnlab.nets.knobs import model_config
from rnnlab.nets.model import RecurrentNet, build_model
from rnnlab.nets.recording import LayerRecord, Recording

__all__ = ["ARCHS", "Arch", "LayerRecord", "RecurrentNet", "Recording", "build_model", "count_params", "model_config",
           "count_weights"]
