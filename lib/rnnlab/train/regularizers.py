"""Gaussian weight noise (Graves 2011), as used by Pascanu et al. 2014 and Chung et al. 2014 (std 0.075).

At each gradient computation every weight matrix is perturbed by N(0, std^2); the gradient is taken at the noisy
point and applied to the clean weights. Biases are left clean.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def weight_noise(model: torch.nn.Module, std: float):
    """Inside the block the model's weights carry fresh noise; on exit the clean weights are restored."""
    if std <= 0:
        yield
        return
    clean = []
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.requires_grad and "bias" not in name and param.dim() >= 2:
                clean.append((param, param.detach().clone()))
                param.add_(torch.randn_like(param) * std)
    try:
        yield
    finally:
        with torch.no_grad():
            for param, original in clean:
                param.copy_(original)
