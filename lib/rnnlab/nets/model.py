"""RecurrentNet: Pascanu et al.'s decomposition of one time step into input, transition and output functions.

    x_t ─ deep input (input_depth dense layers, optional) ─ level 0 ─ … ─ level K−1 ─ deep output ─ logits_t

* Deep input: an MLP before the recurrence (Pascanu §3.2.1; discussed there, never used in their experiments).
* Levels (``level.py``): each a plain or deep (DT / DT(S)) transition of any cell; level k > 0 reads the outputs
  of level k−1 (sRNN, Pascanu §3.3.3); the output reads the TOP level only, as in the paper.
* Deep output (DO, Pascanu §3.3.2): y_t = V_2 φ_d(V_1 h_t) with intermediate width ``output_hidden`` and no
  h → y shortcut; ``output_depth`` counts the affine maps (1 = the plain y_t = V h_t).
* ``dropout`` (Zaremba et al. 2014; Pascanu's DOT(S)-RNN*, Jozefowicz's large PTB models): non-recurrent
  dropout on the input and the output of every recurrent level (each connection between levels dropped once);
  never on the recurrent connections, so fused levels stay fused. Token ids entering the first level are not
  dropped (there the level's input matrix is the embedding).

The logits are pre-activations: the trainer applies BCE-with-logits (music) or cross-entropy (PTB).
Build models with ``build_model`` (here, exported as ``rnnlab.nets.build_model``): it checks the knobs with
``knobs.model_config``; ``model.config`` holds its keyword arguments (JSON-able).

``torch.compile`` is an opt-in: ``model.compile()`` (``torch.nn.Module.compile``) compiles the whole unrolled
forward. The cold compile is slow and every new sequence length or batch size recompiles, so use it for long runs
with fixed-length chunks; what it gained and cost on CPU is measured in docs/speed.md §6 (``bench/cells.py
--compile``).
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab.cells import CELLS
from rnnlab.errors import RnnlabError
from rnnlab.nets.archs import ARCHS
from rnnlab.nets.counting import count_params, count_weights
from rnnlab.nets.dense import DenseLayer
from rnnlab.nets.init import init_pascanu
from rnnlab.nets.knobs import model_config
from rnnlab.nets.level import RecurrentLevel
from rnnlab.nets.recording import Recording


class RecurrentNet(nn.Module):
    """Deep input → K recurrent levels → deep output; built from a resolved ``config`` (see ``build_model``)."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        c = self.config
        pool = {"pool_size": c["pool_size"], "lp_p": c["lp_p"]}
        width = c["n_in"]
        layers = []
        for _ in range(c["input_depth"]):
            layers.append(DenseLayer(width, c["input_hidden"], c["nonlinearity"], **pool))
            width = c["input_hidden"]
        self.input_layers = nn.ModuleList(layers)
        # the config's values of the options this cell class takes (the tanh cell's φ may differ in the transition)
        given = dict(nonlinearity=c["nonlinearity"], **pool, forget_bias=c["forget_bias"], equations=c.get("equations"))
        cell_class = CELLS[c["cell"]]
        cell_options = {k: v for k, v in given.items() if cell_class.takes_option(k) and v is not None}
        intermediate_options = dict(cell_options)
        if "nonlinearity" in cell_options and c["transition_nonlinearity"] is not None:
            intermediate_options["nonlinearity"] = c["transition_nonlinearity"]
        levels = []
        for _ in range(c["levels"]):
            levels.append(
                RecurrentLevel(
                    c["cell"],
                    width,
                    c["hidden"],
                    depth=c["transition_depth"],
                    intermediate_size=c["transition_hidden"],
                    shortcut=ARCHS[c["arch"]].shortcut,
                    cell_options=cell_options,
                    intermediate_options=intermediate_options,
                )
            )
            width = c["hidden"]
        self.levels = nn.ModuleList(levels)
        layers = []
        for _ in range(c["output_depth"] - 1):
            layers.append(DenseLayer(width, c["output_hidden"], c["output_nonlinearity"] or c["nonlinearity"], **pool))
            width = c["output_hidden"]
        self.output_layers = nn.ModuleList(layers)
        self.readout = nn.Linear(width, c["n_out"])
        self.dropout = nn.Dropout(c.get("dropout", 0.0))

    @classmethod
    def from_config(cls, config: dict) -> RecurrentNet:
        """``build_model(**config)``: rebuild a model from its ``config``."""
        return build_model(**config)

    def zero_state(self, batch_size: int, device=None) -> list[tuple[torch.Tensor, ...]]:
        """The all-zero state: one tuple of (batch_size, hidden) tensors per level."""
        return [level.zero_state(batch_size, device) for level in self.levels]

    def forward(self, x: torch.Tensor, state=None, record: bool = False):
        """x: (T,B,n_in) floats, or (T,B) int64 ids with ``token_input``. Returns (logits, state[, recording]).

        logits: (T,B,n_out) pre-activations; state: list (one per level) of tuples of (B,H) tensors (None = zeros).
        ``record=True`` always runs the loop path and returns a ``Recording`` as a third element.
        """
        self._check_input(x)
        if state is None:
            state = self.zero_state(x.shape[1], x.device)
        elif len(state) != len(self.levels):
            raise RnnlabError(f"state must hold one entry per level ({len(self.levels)}), got {len(state)}")
        recording = Recording() if record else None
        h = x
        for j, layer in enumerate(self.input_layers):
            h = layer(h)
            if recording is not None:
                recording.add_sequence(f"input/layer{j}", h)
        fused = self.config["fused"] == "auto"
        new_state = []
        for k, level in enumerate(self.levels):
            h, level_state = level(self._drop(h), tuple(state[k]), record=recording, name=f"level{k}", fused=fused)
            new_state.append(level_state)
        h = self._drop(h)
        for j, layer in enumerate(self.output_layers):
            h = layer(h)
            if recording is not None:
                recording.add_sequence(f"output/layer{j}", h)
        logits = self.readout(h)
        return (logits, new_state, recording) if record else (logits, new_state)

    def _drop(self, h: torch.Tensor) -> torch.Tensor:
        if self.dropout.p == 0 or not self.training or not h.is_floating_point():
            return h
        return self.dropout(h)

    def _check_input(self, x: torch.Tensor) -> None:
        if self.config["token_input"]:
            if x.is_floating_point() or x.dim() != 2:
                raise RnnlabError(f"token_input=True expects int64 ids of shape (T,B), got {x.dtype} {tuple(x.shape)}")
        elif not x.is_floating_point() or x.dim() != 3 or x.shape[-1] != self.config["n_in"]:
            raise RnnlabError(
                f"expected float input of shape (T,B,{self.config['n_in']}), got {x.dtype} {tuple(x.shape)} "
                "(token ids need token_input=True)"
            )

    def fused_levels(self) -> list[bool]:
        """Which levels train through a fused torch.nn module (when not recording)."""
        return [self.config["fused"] == "auto" and level.can_fuse() for level in self.levels]

    def describe(self) -> dict:
        """JSON-able summary for run records: the config plus weight and parameter counts."""
        return {**self.config, "n_weights": count_weights(self), "n_params": count_params(self),
                "fused_levels": self.fused_levels()}


def build_model(**knobs) -> RecurrentNet:
    """Build the model ``model_config(**knobs)`` describes (same keywords, same rules: ``knobs.py``).

    The returned model's ``config`` rebuilds it: ``build_model(**model.config)``.
    """
    config = model_config(**knobs)
    model = RecurrentNet(config)
    if config["init"] == "pascanu":
        init_pascanu(model)
    return model
