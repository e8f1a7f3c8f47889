"""Music from a trained model: sample new piano rolls, and score a real piece step by step.

A music model predicts, at every time step, one logit per piano key; the keys of the next frame are independent
Bernoulli variables given the past (Boulanger-Lewandowski et al. 2012; the output layer of Pascanu et al. 2014 and
Chung et al. 2014):  p(x_{t+1,j} = 1 | x_{<=t}) = σ(a_{t,j}).

- ``sample_music`` feeds each sampled frame back as the next input. ``temperature`` T divides the logits before
  the sigmoid, p = σ(a / T): T < 1 sharpens (fewer, safer notes), T > 1 flattens (more, wilder notes), T = 0 is
  greedy (a key sounds when σ(a) > 1/2). A ``prime`` (the start of a real piece) warms the state up first.
- ``frame_probabilities`` gives σ(a_t) for every step of a real piece (teacher forcing), and
  ``step_log_likelihood`` the log-probability of each real next frame: log p(x_{t+1} | x_{<=t}) =
  Σ_j [x log σ(a) + (1 − x) log(1 − σ(a))]. Minus its mean over a piece is the NLL per time step that the
  trainer reports (sum over the 88 units, averaged over time steps), here for one piece.
- ``music_runs`` / ``pick_music_run`` find the finished music runs of the run store (of one data family); load
  one with ``rnnlab.train.trained.load_trained_model(run_dir)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnnlab.data.layout import N_KEYS
from rnnlab.data.registry import NONCANONICAL, data_families, music_sets
from rnnlab.errors import RnnlabError, check_positive

__all__ = ["MUSIC_DATASETS", "N_KEYS", "frame_probabilities", "music_runs", "pick_music_run", "sample_music",
           "step_log_likelihood"]

MUSIC_DATASETS = music_sets(canonical_only=False)  # the papers' four music sets and the stand-in(s)


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


def _check_roll(piece: torch.Tensor, what: str) -> torch.Tensor:
    piece = torch.as_tensor(piece, dtype=torch.float32)
    if piece.dim() != 2 or piece.shape[1] != N_KEYS:
        raise RnnlabError(f"{what} must be a (T, {N_KEYS}) piano roll, got shape {tuple(piece.shape)}")
    return piece


def _check_temperature(temperature: float) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or temperature < 0:
        raise RnnlabError(f"temperature must be a number >= 0 (0 = greedy), got {temperature!r}")


@torch.no_grad()
def sample_music(model, steps: int, temperature: float = 1.0, prime: torch.Tensor | None = None,
                 seed: int = 0) -> torch.Tensor:
    """A (len(prime) + steps, 88) float piano roll: the prime (if any) followed by ``steps`` sampled frames.

    Without a prime the first input is a silent frame. Deterministic for a given ``seed`` (own generator).
    """
    check_positive("steps", steps)
    _check_temperature(temperature)
    device = _device_of(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        if prime is not None:
            prime = _check_roll(prime, "prime").to(device)
            if len(prime) == 0:
                raise RnnlabError("prime must hold at least one frame")
            logits, state = model(prime[:, None, :])
            frames = [prime]
        else:
            logits, state = model(torch.zeros(1, 1, N_KEYS, device=device))
            frames = []
        last = logits[-1, 0]
        for _ in range(steps):
            frame = _sample_frame(last, temperature, generator)
            frames.append(frame[None])
            logits, state = model(frame[None, None], state)
            last = logits[-1, 0]
    finally:
        model.train(was_training)
    return torch.cat(frames).cpu()


def _sample_frame(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    if temperature == 0:
        return (logits > 0).float()
    probs = torch.sigmoid(logits / temperature)
    return (torch.rand(probs.shape, generator=generator, device=probs.device) < probs).float()


@torch.no_grad()
def _next_frame_logits(model, piece: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The checked piece and the model's (T − 1, 88) logits for frames 1..T−1, read in eval mode."""
    piece = _check_roll(piece, "piece")
    if len(piece) < 2:
        raise RnnlabError(f"piece must have at least 2 frames to predict one, got {len(piece)}")
    was_training = model.training
    model.eval()
    try:
        logits, _ = model(piece[:-1, None, :].to(_device_of(model)))
    finally:
        model.train(was_training)
    return piece, logits[:, 0]


def frame_probabilities(model, piece: torch.Tensor) -> torch.Tensor:
    """(T − 1, 88): row t is the model's probability of each key sounding at step t + 1, having read frames 0..t."""
    _, logits = _next_frame_logits(model, piece)
    return torch.sigmoid(logits).cpu()


def step_log_likelihood(model, piece: torch.Tensor) -> torch.Tensor:
    """(T − 1,) natural-log probability of each real next frame under the model (sum over the 88 keys)."""
    piece, logits = _next_frame_logits(model, piece)
    target = piece[1:].to(logits.device)
    return -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1).cpu()


def music_runs(runs, family: str | None = None):
    """Finished music runs of a run-store table (``rnnlab.train.runs.load``), best test NLL first; only those of
    one data ``family`` (``rnnlab.data.data_family``: models are primed and scored only on their own data) when
    given, else every family but ``noncanonical`` files (a paper set's name, not its catalogued sha256: picked
    only when their own family is asked for)."""
    import pandas as pd

    if runs is None or runs.empty or not {"dataset", "status", "test_nll"} <= set(runs.columns):
        return pd.DataFrame(columns=list(getattr(runs, "columns", [])))
    music = runs[runs["dataset"].isin(MUSIC_DATASETS) & (runs["status"] == "ok") & runs["test_nll"].notna()]
    families = data_families(music)
    keep = [f == family for f in families] if family is not None else [
        not f.startswith(f"{NONCANONICAL} ") for f in families]
    music = music[pd.Series(keep, index=music.index, dtype=bool)]
    return music.sort_values("test_nll")


def pick_music_run(runs, family: str | None = None, unlike: tuple[str, str] | None = None) -> str | None:
    """The run directory of the finished music run with the lowest test NLL (of one data ``family``), or None.

    ``unlike``: an (arch, cell) pair; only runs of another architecture or cell are considered (07_generate.ipynb
    scores the chosen model beside the best of another kind)."""
    music = music_runs(runs, family)
    if unlike is not None and not music.empty:
        music = music[(music["arch"] != unlike[0]) | (music["cell"] != unlike[1])]
    return None if music.empty else str(music.iloc[0]["run_dir"])
