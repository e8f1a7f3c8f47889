"""A trained model back from its run folder: ``load_trained_model(run_dir, weights)`` -> (model, TrainConfig).

The model is rebuilt from the run's ``config.json`` exactly as the trainer built it (``build_model_for``), then

- ``weights="best"``: the best-validation weights (``checkpoints/best.pt``);
- ``weights="last"``: the weights of the last finished epoch (``checkpoints/last.pt``);
- ``weights="initial"``: no checkpoint — the weights the run started from, rebuilt by seeding every generator with
  the run's seed before building, as the trainer does (the caller's generator states are restored afterwards).
  A run that copied pretrained weights (``init_from``) did not start from its seed's weights alone: refused.

Checkpoints are read safely and checked against the run's config (``rnnlab.train.checkpoints``). A music model
is sized without its data (88 keys in and out); any other task needs its ``dataset`` (``n_in``, ``n_out``,
``token_input``: the ``dataset`` knobs of ``rnnlab.nets.knobs.MODEL_KNOBS``), e.g. ``load_dataset(config.dataset)``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch

from rnnlab.data.layout import N_KEYS
from rnnlab.data.registry import music_sets, spec
from rnnlab.errors import RnnlabError, check_choice
from rnnlab.train import checkpoints
from rnnlab.train.config import TrainConfig
from rnnlab.train.runs import read_config
from rnnlab.train.seeding import rng_state, seed_everything, set_rng_state
from rnnlab.train.trainer import build_model_for

WEIGHTS = ("best", "last", "initial")


def load_trained_model(run_dir: str | Path, weights: str = "best", *, dataset=None,
                       device: str | torch.device = "cpu") -> tuple[torch.nn.Module, TrainConfig]:
    """(model, TrainConfig) of the run in ``run_dir``, with its ``best``, ``last`` or ``initial`` weights, on
    ``device``, in eval mode (see the module docstring)."""
    check_choice("weights", weights, WEIGHTS)
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists():
        raise RnnlabError(f"{str(run_dir)!r} is not a run directory (no config.json); list runs with "
                          "rnnlab.train.runs.load()")
    config = read_config(run_dir)
    if weights == "initial":
        if config.init_from:
            raise RnnlabError(f"run {run_dir.name!r} started from weights copied from {config.init_from!r} "
                              "(init_from), not from its seed's initialisation; load that run's weights instead")
        model = _initial_model(config, _sizes(config, dataset, run_dir))
    else:
        path = run_dir / "checkpoints" / (checkpoints.BEST if weights == "best" else checkpoints.LAST)
        if not path.exists():
            raise RnnlabError(f"run {run_dir.name!r} has no {weights} checkpoint ({path} is missing); it may still "
                              "be running, have diverged, or have stopped before its first epoch")
        model = build_model_for(config, _sizes(config, dataset, run_dir))
        checkpoints.load_model_state(model, checkpoints.read(path, config, "cpu"), path)
    return model.to(device).eval(), config


def _sizes(config: TrainConfig, dataset, run_dir: Path):
    """What ``build_model_for`` reads of the data (``n_in``, ``n_out``, ``token_input``): the ``dataset`` given,
    else the piano-roll sizes of a music set."""
    if dataset is not None:
        return dataset
    music = music_sets(canonical_only=False)
    if config.dataset not in music:
        raise RnnlabError(f"run {run_dir.name!r} trained on {config.dataset!r}; pass dataset=load_dataset("
                          f"{config.dataset!r}) to size its model (music sets need none: {', '.join(music)})")
    return SimpleNamespace(n_in=N_KEYS, n_out=N_KEYS, token_input=spec(config.dataset).token_input)


def _initial_model(config: TrainConfig, sizes) -> torch.nn.Module:
    """The model as the trainer seeded and built it, before any update; the global generators are left as found."""
    saved = rng_state()
    try:
        seed_everything(config.seed)
        return build_model_for(config, sizes)
    finally:
        set_rng_state(saved)
