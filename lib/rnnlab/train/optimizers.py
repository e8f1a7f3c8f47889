"""Optimizers of the papers: plain SGD (Pascanu 2014, Jozefowicz 2015), RMSProp (Chung 2014), Adam (modern default)."""

from __future__ import annotations

import torch

from rnnlab.errors import check_choice
from rnnlab.train.config import OPTIMIZERS


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    check_choice("optimizer", name, OPTIMIZERS)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-6)
    return torch.optim.Adam(params, lr=lr)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
