"""Losses and metrics of the three papers' tasks.

- Music (Boulanger-Lewandowski sets): 88 independent Bernoulli units (sigmoid outputs). NLL per time step =
  the sum over the 88 units of -log p, averaged over all non-padding time steps of the split (natural log).
  This is the convention of Pascanu et al. 2014 Table 2 and Chung et al. 2014 Table 2 as we read them.
- Text (PTB): softmax over the vocabulary; bits per character = mean nats / ln 2; perplexity = exp(mean nats).
- Synthetic tasks (Jozefowicz et al. 2015): next-step prediction; accuracy over the scored (answer) positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LOWER_IS_BETTER = {"nll": True, "bpc": True, "ppl": True, "accuracy": False}


def token_losses(logits: torch.Tensor, targets: torch.Tensor, loss_kind: str) -> torch.Tensor:
    """Per-position loss in nats, shape (T, B): Bernoulli NLL summed over units, or cross-entropy."""
    if loss_kind == "bernoulli":
        return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none").view(
        targets.shape
    )


@dataclass
class MetricTotals:
    """Running sums over a split, turned into the paper's metric by :meth:`value`."""

    metric: str
    nats: float = 0.0
    tokens: int = 0
    correct: int = 0
    scored: int = 0

    def add(self, losses: torch.Tensor, mask: torch.Tensor, logits=None, targets=None, score_mask=None) -> None:
        self.nats += float((losses * mask).sum())
        self.tokens += int(mask.sum())
        if self.metric == "accuracy":
            hit = (logits.argmax(-1) == targets) & score_mask
            self.correct += int(hit.sum())
            self.scored += int(score_mask.sum())

    @property
    def mean_nats(self) -> float:
        return self.nats / max(self.tokens, 1)

    def value(self) -> float:
        if self.metric == "accuracy":
            return self.correct / max(self.scored, 1)
        return metric_from_nats(self.mean_nats, self.metric)


class PieceTotals:
    """Per-piece NLL sums while batches walk through pieces, for the second music convention: the mean over pieces
    of each piece's mean NLL per frame (every piece weighs the same, however long). ``reset[b]`` marks that row
    ``b`` starts a new piece (see ``rnnlab.data.batching``)."""

    def __init__(self):
        self.piece_means: list[float] = []
        self._nats: torch.Tensor | None = None
        self._frames: torch.Tensor | None = None

    def _close(self, rows: torch.Tensor) -> None:
        for row in rows.nonzero().flatten().tolist():
            if self._frames[row] > 0:
                self.piece_means.append(float(self._nats[row] / self._frames[row]))
            self._nats[row], self._frames[row] = 0.0, 0.0

    def add(self, losses: torch.Tensor, mask: torch.Tensor, reset: torch.Tensor) -> None:
        reset = reset.cpu()
        if self._nats is None or self._nats.shape[0] != reset.shape[0]:
            if self._nats is not None:
                self._close(torch.ones_like(self._frames, dtype=torch.bool))
            self._nats = torch.zeros(reset.shape[0], dtype=torch.float64)
            self._frames = torch.zeros(reset.shape[0], dtype=torch.float64)
        else:
            self._close(reset)
        self._nats += (losses * mask).sum(0).double().cpu()
        self._frames += mask.sum(0).double().cpu()

    def mean_of_piece_means(self) -> float:
        if self._nats is not None:
            self._close(torch.ones_like(self._frames, dtype=torch.bool))
            self._nats = self._frames = None
        return sum(self.piece_means) / max(len(self.piece_means), 1)


def metric_from_nats(mean_nats: float, metric: str) -> float:
    """Convert a mean loss in nats per token to the reported metric."""
    if metric == "bpc":
        return mean_nats / math.log(2)
    if metric == "ppl":
        return math.exp(min(mean_nats, 700.0))
    return mean_nats


def is_better(new: float, best: float | None, metric: str) -> bool:
    if best is None:
        return True
    return new < best if LOWER_IS_BETTER[metric] else new > best
