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
