"""Every training knob in one typed dataclass, validated up front with one-line errors.

The same knobs appear, with the same names, as the training notebook's ``parameters`` cell and as
``rnnlab train`` options.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field

from rnnlab.errors import RnnlabError, check_choice, check_positive

OPTIMIZERS = ("sgd", "rmsprop", "adam")
SCHEDULES = ("none", "pascanu", "halving", "plateau")
MAX_SEED = 2**32 - 1  # numpy's seed range
EXTENSIBLE_KNOBS = ("epochs", "patience")  # the knobs a resumed run may raise (recorded in its log)


@dataclass
class TrainConfig:
    """Knobs of one training run (see the README's "Training recipes" for the papers' settings)."""

    dataset: str = "bach-music21"  # dataset name (rnnlab data list)
    arch: str = "rnn"  # deep-RNN preset (rnnlab archs lists them)
    cell: str = "tanh"  # recurrent cell (rnnlab archs)
    equations: str = ""  # cell graph only: the cell written as equations (empty: the GRU), see docs/search.md
    hidden: int = 200  # recurrent state width
    transition_hidden: int | None = None  # width of the deep-transition intermediate layer (default: hidden)
    output_hidden: int | None = None  # width of the deep-output intermediate layer (default: hidden)
    levels: int = 2  # stacked levels (stacked presets only)
    nonlinearity: str = "tanh"  # phi of tanh cells and intermediate layers (Pascanu used sigmoid)
    forget_bias: float | None = None  # LSTM forget-gate bias at init (None: the cell's default, 1 for lstm_b)
    init: str = "default"  # default (PyTorch) or pascanu (sparse, unit spectral radius)
    init_from: str = ""  # run folder whose best checkpoint initialises same-name, same-shape parameters
    pretrained_lr_scale: float = 1.0  # learning-rate factor for the parameters copied from init_from (Pascanu: 0.1)
    epochs: int = 20  # maximum epochs
    batch_size: int = 16  # sequences (music, synthetic) or streams (text) per update
    bptt: int | None = 50  # truncated-BPTT chunk length, state carried across chunks (None: whole sequences)
    batching: str = "chunks"  # with bptt: chunks (each row walks piece after piece) or bucketed (by piece length)
    optimizer: str = "adam"  # sgd, rmsprop, adam
    lr: float = 1e-3  # learning rate
    schedule: str = "none"  # none, pascanu (1/(1+(tau-tau0)/beta)), halving (Jozefowicz), plateau (Mikolov)
    decay_beta: float = 100.0  # pascanu schedule: beta in updates (JSB 100, Nottingham 2330, MuseData 1475)
    decay_start_patience: int | None = None  # pascanu: epochs without a new best valid before decay (None: first rise)
    clip: float | None = 1.0  # gradient-norm clipping threshold (None: no clipping)
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
        """Raise RnnlabError (one line) on the first bad knob; return self.

        This is the one function that decides whether a run can start; it reads and writes nothing. It checks
        every knob's type (floats must be finite), every choice, the dataset's options, the model (its knobs are the
        ``run`` knobs of ``rnnlab.nets.knobs.MODEL_KNOBS``, checked by asking ``model_config``, the same rules
        ``build_model`` enforces) and that no knob is set that the chosen schedule ignores.
        """
        from rnnlab.data import check_dataset_options
        from rnnlab.data.batching import BATCHINGS
        from rnnlab.device import check_device_name
        from rnnlab.nets.knobs import model_config, model_knobs_for

        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), _KNOB_TYPES[f.name])
        check_dataset_options(self.dataset, self.task_knobs)
        model_config(**model_knobs_for(self))  # every model knob (rnnlab.nets.knobs.MODEL_KNOBS), as build_model
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("batching", self.batching, BATCHINGS)
        check_device_name(self.device)
        for name in ("epochs", "batch_size", "patience", "checkpoint_every"):
            check_positive(name, getattr(self, name))
        for name in ("bptt", "max_updates_per_epoch", "max_eval_sequences"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))
        if not 0 <= self.seed <= MAX_SEED:
            raise RnnlabError(f"seed must be an integer in [0, {MAX_SEED}] (numpy's range), got {self.seed!r}")
        if self.lr <= 0:
            raise RnnlabError(f"lr must be a positive number, got {self.lr!r}")
        if self.clip is not None and self.clip <= 0:
            raise RnnlabError(f"clip must be a positive number or None (no clipping), got {self.clip!r}")
        if self.weight_noise < 0:
            raise RnnlabError(f"weight_noise must be a number >= 0, got {self.weight_noise!r}")
        if self.decay_beta <= 0:
            raise RnnlabError(f"decay_beta must be a positive number, got {self.decay_beta!r}")
        if self.decay_start_patience is not None:
            check_positive("decay_start_patience", self.decay_start_patience)
            if self.schedule != "pascanu":
                raise RnnlabError(f"decay_start_patience={self.decay_start_patience!r} does not apply: only schedule "
                                  f"'pascanu' uses it, schedule is {self.schedule!r} (leave it at None)")
        if self.pretrained_lr_scale <= 0:
            raise RnnlabError(f"pretrained_lr_scale must be a positive number, got {self.pretrained_lr_scale!r}")
        if not self.init_from and self.pretrained_lr_scale != 1.0:
            raise RnnlabError(f"pretrained_lr_scale={self.pretrained_lr_scale!r} does not apply without init_from "
                              "(leave it at 1.0)")
        default_beta = _DEFAULTS["decay_beta"]
        if self.schedule != "pascanu" and self.decay_beta != default_beta:
            raise RnnlabError(f"decay_beta={self.decay_beta!r} does not apply: only schedule 'pascanu' uses it, "
                              f"schedule is {self.schedule!r} (leave it at {default_beta!r})")
        return self

    @classmethod
    def knob_names(cls) -> list[str]:
        """Every knob, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_parameters(cls, values: dict) -> TrainConfig:
        """``from_dict`` for notebook parameters: a dict knob given as a JSON string (papermill's ``-p``) is read."""
        values = dict(values)
        for name, (base, _) in _KNOB_TYPES.items():
            if base is dict and isinstance(values.get(name), str):
                try:
                    values[name] = json.loads(values[name])
                except json.JSONDecodeError as err:
                    raise RnnlabError(f"{name} must be a JSON object, got {values[name]!r} ({err})") from None
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict (e.g. notebook parameters); unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise RnnlabError(f"unknown training knob(s) {', '.join(unknown)}; valid knobs: {', '.join(sorted(known))}")
        return cls(**values)


def check_resume_knobs(recorded: TrainConfig, given: dict, run_dir) -> None:
    """The one rule of a resume: every given knob equals the recorded one, except a larger ``epochs`` or
    ``patience``; otherwise one line naming the knob, the recorded and the given value."""
    for knob, value in given.items():
        theirs = getattr(recorded, knob)
        if value == theirs or (knob in EXTENSIBLE_KNOBS and value > theirs):
            continue
        hint = " (a resume may only raise it)" if knob in EXTENSIBLE_KNOBS else ""
        raise RnnlabError(f"knob {knob}: the run in {str(run_dir)!r} was recorded with {theirs!r}, given "
                          f"{value!r}{hint}; a resumed run keeps its record")


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


_PRIMITIVES = {"int": int, "float": float, "str": str, "dict": dict, "bool": bool}


def _knob_types() -> dict[str, tuple[type, bool]]:
    """(base type, None allowed) of every knob, read from the dataclass annotations."""
    out = {}
    for name, hint in typing.get_type_hints(TrainConfig).items():
        args = typing.get_args(hint)
        optional = isinstance(hint, types.UnionType) and type(None) in args
        base = next(a for a in args if a is not type(None)) if optional else hint
        out[name] = (typing.get_origin(base) or base, optional)
    return out


def _check_type(name: str, value, expected: tuple[type, bool]) -> None:
    """One line unless ``value`` has the knob's type (an int passes for a float; floats must be finite)."""
    base, optional = expected
    if value is None and optional:
        return
    if base is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        what = "a finite number"
    elif base is int:
        ok, what = isinstance(value, int) and not isinstance(value, bool), "an integer"
    else:
        ok, what = isinstance(value, base), {str: "a string", dict: "a dict (papermill: -y 'name: {...}')",
                                             bool: "True or False"}[base]
    if not ok:
        none = " or None" if optional else ""
        raise RnnlabError(f"{name} must be {what}{none}, got {value!r}")


_KNOB_TYPES = _knob_types()
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
