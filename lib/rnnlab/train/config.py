"""Every training knob in one typed dataclass, validated up front with one-line errors.

The same knobs appear, with the same names, as the training notebook's ``parameters`` cell and as
``rnnlab train`` options.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from rnnlab.errors import RnnlabError, check_choice, check_positive

OPTIMIZERS = ("sgd", "rmsprop", "adam")
SCHEDULES = ("none", "pascanu", "halving", "plateau")
NONLINEARITIES = ("tanh", "sigmoid", "relu", "lp", "maxout")


@dataclass
class TrainConfig:
    """Knobs of one training run (see the README's "Training recipes" for the papers' settings)."""

    dataset: str = "bach-music21"  # dataset name (rnnlab data list)
    arch: str = "rnn"  # rnn, dt-rnn, dts-rnn, do-rnn, dot-rnn, dots-rnn, srnn
    cell: str = "tanh"  # recurrent cell (rnnlab archs)
    hidden: int = 200  # recurrent state width
    transition_hidden: int | None = None  # width of the deep-transition intermediate layer (default: hidden)
    output_hidden: int | None = None  # width of the deep-output intermediate layer (default: hidden)
    levels: int = 2  # stacked levels (srnn only)
    nonlinearity: str = "tanh"  # phi of tanh cells and intermediate layers (Pascanu used sigmoid)
    forget_bias: float | None = None  # LSTM forget-gate bias at init (None = the cell's default; lstm_b: 1)
    init: str = "default"  # default (PyTorch) or pascanu (sparse, unit spectral radius)
    epochs: int = 20  # maximum epochs
    batch_size: int = 16  # sequences (music, synthetic) or streams (text) per update
    bptt: int | None = 50  # truncated-BPTT chunk length; None = whole sequences
    optimizer: str = "adam"  # sgd, rmsprop, adam
    lr: float = 1e-3  # learning rate
    schedule: str = "none"  # none, pascanu (1/(1+(tau-tau0)/beta)), halving (Jozefowicz), plateau (Mikolov)
    decay_beta: float = 100.0  # pascanu schedule: beta in updates (JSB 100, Nottingham 2330, MuseData 1475)
    clip: float | None = 1.0  # gradient-norm clipping threshold; None = no clipping
    weight_noise: float = 0.0  # std of Gaussian weight noise per gradient computation (0.075 in Pascanu/Chung)
    dropout: float = 0.0  # non-recurrent dropout on the input and output of every recurrent level
    patience: int = 5  # early stopping: epochs without validation improvement
    max_updates_per_epoch: int | None = None  # cap on updates per epoch (smoke runs)
    max_eval_sequences: int | None = None  # cap on validation/test sequences (smoke runs)
    seed: int = 0  # seeds python, numpy and torch (CPU runs are bit-for-bit repeatable)
    device: str = "auto"  # auto (CUDA when present), cpu, cuda
    checkpoint_every: int = 1  # epochs between checkpoints (a killed run resumes from the last one)
    task_knobs: dict = field(default_factory=dict)  # synthetic-task generator knobs (digits, n_train, ...)

    def validate(self) -> TrainConfig:
        """Raise RnnlabError (one line) on the first bad knob; return self."""
        from rnnlab.cells import CELLS
        from rnnlab.data import DATASETS
        from rnnlab.nets import ARCHS

        check_choice("dataset", self.dataset, DATASETS)
        check_choice("arch", self.arch, ARCHS)
        check_choice("cell", self.cell, CELLS)
        check_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("init", self.init, ("default", "pascanu"))
        check_choice("device", self.device if not str(self.device).startswith("cuda:") else "cuda",
                     ("auto", "cpu", "cuda"))
        for name in ("hidden", "epochs", "batch_size", "levels", "patience", "checkpoint_every"):
            check_positive(name, getattr(self, name))
        for name in ("transition_hidden", "output_hidden", "bptt", "max_updates_per_epoch", "max_eval_sequences"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise RnnlabError(f"seed must be an integer, got {self.seed!r}")
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise RnnlabError(f"lr must be a positive number, got {self.lr!r}")
        if self.clip is not None and not (isinstance(self.clip, int | float) and self.clip > 0):
            raise RnnlabError(f"clip must be a positive number or None, got {self.clip!r}")
        if not (isinstance(self.weight_noise, int | float) and self.weight_noise >= 0):
            raise RnnlabError(f"weight_noise must be a number >= 0, got {self.weight_noise!r}")
        if not (isinstance(self.dropout, int | float) and 0 <= self.dropout < 1):
            raise RnnlabError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not (isinstance(self.decay_beta, int | float) and self.decay_beta > 0):
            raise RnnlabError(f"decay_beta must be a positive number, got {self.decay_beta!r}")
        if self.forget_bias is not None and not self.cell.startswith("lstm"):
            raise RnnlabError(f"forget_bias={self.forget_bias!r} needs an LSTM cell; cell is {self.cell!r}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict (e.g. notebook parameters); unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise RnnlabError(f"unknown training knob(s) {', '.join(unknown)}; valid knobs: {', '.join(sorted(known))}")
        return cls(**values)


def smoke_overrides(config: TrainConfig) -> TrainConfig:
    """Tiny sizes for CI: a few updates, small widths, few evaluation sequences."""
    return dataclasses.replace(
        config,
        hidden=min(config.hidden, 16),
        transition_hidden=None if config.transition_hidden is None else min(config.transition_hidden, 16),
        output_hidden=None if config.output_hidden is None else min(config.output_hidden, 16),
        epochs=min(config.epochs, 2),
        batch_size=min(config.batch_size, 4),
        bptt=min(config.bptt or 20, 20),
        max_updates_per_epoch=3,
        max_eval_sequences=4,
        patience=min(config.patience, 2),
    )
