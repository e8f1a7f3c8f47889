"""The simple recurrent unit ("tanh RNN", Elman 1990), with a choice of nonlinearity φ.

    h_t = φ( W x_t + U h_{t-1} + b )

Pascanu et al. 2014 (arXiv 1312.6026) Eq. 4 (φ = logistic sigmoid in all their music and PTB models);
Chung et al. 2014 (arXiv 1412.3555) Eq. 2 with φ = tanh. In a deep transition the same cell forms every
intermediate layer z = φ(W_l z' + b) (Pascanu §3.3.1), whose width may differ from the state's, and whose φ may
be a pooling unit (L_p or maxout, Pascanu's DOT(S)-RNN*).

Parameters are kept in ``torch.nn.RNN`` layout (weight_ih, weight_hh, bias_ih, bias_hh; b = b_ih + b_hh), so
with φ ∈ {tanh, relu} the cell is exactly ``nn.RNN`` and a level of it trains through the fused module.
"""

from __future__ import annotations

import torch

from rnnlab.cells.base import RecurrentCell, new_vector, new_weight
from rnnlab.cells.nonlinearities import Elementwise, make_nonlinearity


class TanhCell(RecurrentCell):
    """h_t = φ(W x_t + U h_{t-1} + b_ih + b_hh); φ ∈ tanh | sigmoid | relu | lp | maxout (k pieces per unit)."""

    options = ("nonlinearity", "pool_size", "lp_p")

    def __init__(self, input_size, hidden_size, prev_size=None, *, nonlinearity="tanh", pool_size=2, lp_p=None):
        super().__init__(input_size, hidden_size, prev_size)
        self.nonlinearity = nonlinearity
        self.phi = make_nonlinearity(nonlinearity, hidden_size, pool_size=pool_size, lp_p=lp_p)
        rows = self.block_size
        self.weight_ih = new_weight(rows, input_size)
        self.weight_hh = new_weight(rows, self.prev_size)
        self.bias_ih = new_vector(rows)
        self.bias_hh = new_vector(rows)
        self.reset_parameters()

    @classmethod
    def allows_width_change(cls) -> bool:
        return True

    @property
    def block_size(self) -> int:
        return self.hidden_size * self.phi.pieces

    @property
    def torch_equivalent(self) -> str | None:
        return {"tanh": "rnn_tanh", "relu": "rnn_relu"}.get(self.nonlinearity)

    def duplicate_parameter_count(self) -> int:
        return self.bias_hh.numel()

    def input_bias(self):
        return self.bias_ih + self.bias_hh  # b_hh only ever adds to b_ih: fold it into the hoisted projection

    def recurrent_weight(self):
        return self.weight_hh, None

    def step(self, x_proj, state, h_proj=None, gates=None):
        (h,) = state
        return (self.phi(self.pre_activation(x_proj, h, h_proj)),)

    def stepper(self):
        phi = self.phi.fn if isinstance(self.phi, Elementwise) else self.phi
        weight_t = self.weight_hh.t()

        def step(x_proj, state, h_proj=None):
            if h_proj is not None:
                return (phi(x_proj + h_proj),)
            return (phi(torch.addmm(x_proj, state[0], weight_t)),)

        return step

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nonlinearity={self.nonlinearity}"
