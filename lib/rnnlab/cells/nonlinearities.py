"""Layer nonlinearities φ: element-wise (tanh, logistic sigmoid, ReLU) and pooling units (L_p, maxout).

Pascanu et al. 2014 (arXiv 1312.6026) use the logistic sigmoid for every hidden layer of the music and PTB
models, ReLU for the char-level deep-output layer, and L_p units in the deep transition plus maxout units in the
deep output for their DOT(S)-RNN* row of Table 2, after Gulcehre et al. 2013 (arXiv 1311.1780).

A pooling unit reads ``pieces`` (k) pre-activations, so a layer of width n with a pooling φ computes k·n
pre-activations; ``pieces`` is 1 for the element-wise functions. Pre-activation j·k … j·k+k−1 belong to unit j.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.errors import RnnlabError, check_choice, check_positive

NONLINEARITIES = ("tanh", "sigmoid", "relu", "lp", "maxout")
ELEMENTWISE = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}


class Elementwise(nn.Module):
    """y = φ(u) for φ ∈ {tanh, logistic sigmoid σ(u) = 1/(1+e^{-u}), ReLU max(0, u)}."""

    pieces = 1

    def __init__(self, name: str):
        super().__init__()
        check_choice("element-wise nonlinearity", name, ELEMENTWISE)
        self.name = name
        self.fn = ELEMENTWISE[name]

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.fn(u)

    def extra_repr(self) -> str:
        return self.name


class Maxout(nn.Module):
    """Maxout unit (Goodfellow et al. 2013): y_j = max_{i=1..k} u_{j,i}."""

    def __init__(self, pieces: int = 2):
        super().__init__()
        check_positive("pool_size", pieces)
        self.pieces = pieces

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return u.unflatten(-1, (-1, self.pieces)).amax(-1)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


class LpPool(nn.Module):
    """L_p unit (Gulcehre et al. 2013, "learned-norm pooling"): y_j = (Σ_{i=1..k} |u_{j,i}|^{p_j})^{1/p_j}.

    With ``p=None`` each unit learns its order as p_j = 1 + softplus(ρ_j) ≥ 1 (Gulcehre et al.'s
    parametrisation; ρ starts where p = 2); a number fixes p for every unit. |u| is clamped at 1e-6 so that the
    gradient with respect to p (which contains ln|u|) stays finite at u = 0.
    """

    def __init__(self, width: int, pieces: int = 2, p: float | None = None):
        super().__init__()
        check_positive("pool_size", pieces)
        self.pieces = pieces
        if p is None:
            rho = torch.full((width,), float(torch.log(torch.expm1(torch.tensor(1.0)))))  # softplus(ρ) = 1
            self.rho = nn.Parameter(rho)
            self.fixed_p = None
        else:
            if not p >= 1:
                raise RnnlabError(f"lp_p must be >= 1 (or None for a learned p), got {p!r}")
            self.rho = None
            self.fixed_p = float(p)

    def order(self) -> torch.Tensor | float:
        """The exponent p (a vector of p_j when learned)."""
        return self.fixed_p if self.rho is None else 1.0 + F.softplus(self.rho)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        groups = u.unflatten(-1, (-1, self.pieces)).abs().clamp_min(1e-6)
        p = self.order()
        if self.rho is None:
            return groups.pow(p).sum(-1).pow(1.0 / p)
        return groups.pow(p.unsqueeze(-1)).sum(-1).pow(1.0 / p)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}, p={'learned' if self.rho is not None else self.fixed_p}"


def make_nonlinearity(name: str, width: int, *, pool_size: int = 2, lp_p: float | None = None) -> nn.Module:
    """φ for a layer of ``width`` units; the returned module's ``pieces`` says how many pre-activations per unit."""
    check_choice("nonlinearity", name, NONLINEARITIES)
    if name == "lp":
        return LpPool(width, pool_size, lp_p)
    if name == "maxout":
        return Maxout(pool_size)
    return Elementwise(name)
