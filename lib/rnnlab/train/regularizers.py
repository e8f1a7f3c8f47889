"""Gaussian weight noise (Graves 2011), as used by Pascanu et al. 2014 and Chung et al. 2014 (std 0.075).

At each gradient computation every weight matrix is perturbed by N(0, std^2); the gradient is taken at the noisy
point and applied to the clean weights. Biases are left clean.

``flat_weight_noise`` is what the trainer uses: the weight matrices are one slice of the model's flat parameter
buffer (``rnnlab.train.optimizers.FlatParameters``), so saving them, adding the noise and restoring them are one
copy, one add and one copy. The noise is drawn one matrix after another in the model's order, exactly the draws
``weight_noise`` makes, so a run's random stream (and so every recorded run) is unchanged.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch


def is_noisy(name: str, param: torch.Tensor) -> bool:
    """Whether weight noise perturbs this parameter: a trainable weight matrix, not a bias."""
    return param.requires_grad and "bias" not in name and param.dim() >= 2


@contextmanager
def weight_noise(model: torch.nn.Module, std: float):
    """Inside the block the model's weights carry fresh noise; on exit the clean weights are restored."""
    if std <= 0:
        yield
        return
    clean = []
    with torch.no_grad():
        for name, param in model.named_parameters():
            if is_noisy(name, param):
                clean.append((param, param.detach().clone()))
                param.add_(torch.randn_like(param) * std)
    try:
        yield
    finally:
        with torch.no_grad():
            for param, original in clean:
                param.copy_(original)


@contextmanager
def flat_weight_noise(flat, std: float):
    """``weight_noise`` on a ``FlatParameters`` built with ``noisy=is_noisy``: the same draws, the same sums."""
    if std <= 0 or flat.n_noisy == 0:
        yield
        return
    weights = flat.data[:flat.n_noisy]
    with torch.no_grad():
        flat.backup.copy_(weights)
        for view in flat.noise_views:  # randn_like(param) is normal_() on a tensor of its shape
            view.normal_()
        flat.noise.mul_(std)
        weights.add_(flat.noise)
    try:
        yield
    finally:
        with torch.no_grad():
            weights.copy_(flat.backup)
