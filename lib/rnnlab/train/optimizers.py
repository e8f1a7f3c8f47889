"""Optimizers of the papers: plain SGD (Pascanu 2014, Jozefowicz 2015), RMSProp (Chung 2014), Adam (modern default)."""

from __future__ import annotations

import torch

from rnnlab.errors import check_choice
from rnnlab.train.config import OPTIMIZERS


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """``params``: parameters, or parameter groups that may carry an ``lr_scale`` (pretrained parameters)."""
    check_choice("optimizer", name, OPTIMIZERS)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-6)
    return torch.optim.Adam(params, lr=lr)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the scheduled rate; a group with an ``lr_scale`` (pretrained parameters) gets ``lr * lr_scale``."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
