"""One feed-forward layer y = φ(W x + b): the layers of Pascanu et al.'s deep input and deep output MLPs.

A pooling φ (L_p, maxout) reads k pre-activations per unit, so W has k·width rows. Integer input holds one-hot
ids: W's columns are indexed instead of multiplying a materialised one-hot vector.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab.cells import make_nonlinearity, project
from rnnlab.errors import check_positive


class DenseLayer(nn.Module):
    """y = φ(W x + b), W: (pieces·width, input_size)."""

    def __init__(self, input_size: int, width: int, nonlinearity: str, *, pool_size: int = 2, lp_p=None):
        super().__init__()
        check_positive("input width", input_size)
        check_positive("layer width", width)
        self.phi = make_nonlinearity(nonlinearity, width, pool_size=pool_size, lp_p=lp_p)
        self.nonlinearity = nonlinearity
        self.linear = nn.Linear(input_size, width * self.phi.pieces)
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.phi(project(x, self.linear.weight, self.linear.bias))

    def extra_repr(self) -> str:
        return f"width={self.width}, nonlinearity={self.nonlinearity}"
