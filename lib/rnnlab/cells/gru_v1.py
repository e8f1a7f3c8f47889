"""The GRU of Cho et al. 2014 as cuDNN and ``torch.nn.GRU`` compute it: reset gate AFTER the matrix U.

    r_t = σ(W_r x_t + b_ir + U_r h_{t-1} + b_hr)
    z_t = σ(W_z x_t + b_iz + U_z h_{t-1} + b_hz)
    n_t = tanh(W_n x_t + b_in + r_t ⊙ (U_n h_{t-1} + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Chung et al. 2014 (arXiv 1412.3555) footnote 1 names this the original form and found it equal in practice.
Note the interpolation convention: here z = 1 KEEPS h_{t-1} (the opposite of ``gru.py``). Parameters are in
``torch.nn.GRU`` layout (gate order r, z, n; b_hn stays inside the reset product, so it is not redundant).
"""

from __future__ import annotations

import torch

from rnnlab.cells.base import RecurrentCell, new_vector, new_weight


class GRUv1Cell(RecurrentCell):
    """cuDNN-form GRU, exactly ``torch.nn.GRU``: blocks r, z, n."""

    gate_names = ("r", "z", "n")
    candidate_names = ("n",)
    n_blocks = 3
    block_names = ("r", "z", "n")
    recurrent_blocks = {"weight_hh": ("r", "z", "n")}
    torch_equivalent = "gru"

    def __init__(self, input_size, hidden_size, prev_size=None):
        super().__init__(input_size, hidden_size, prev_size)
        self.weight_ih = new_weight(3 * hidden_size, input_size)
        self.weight_hh = new_weight(3 * hidden_size, hidden_size)
        self.bias_ih = new_vector(3 * hidden_size)
        self.bias_hh = new_vector(3 * hidden_size)
        self.reset_parameters()

    def duplicate_parameter_count(self) -> int:
        return 2 * self.hidden_size  # b_hr, b_hz only ever add to b_ir, b_iz

    def recurrent_weight(self):
        return self.weight_hh, self.bias_hh

    def step(self, x_proj, state, h_proj=None, gates=None):
        (h,) = state
        x_r, x_z, x_n = x_proj.chunk(3, -1)
        h_r, h_z, h_n = self.recurrent_product(h, h_proj).chunk(3, -1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        if gates is not None:
            gates.update(r=r, z=z, n=n)
        return (n + z * (h - n),)

    def stepper(self):  # step's operations, with U transposed once (RecurrentCell.stepper)
        weight_t, bias = self.weight_hh.t(), self.bias_hh

        def step(x_proj, state, h_proj=None):
            (h,) = state
            x_r, x_z, x_n = x_proj.chunk(3, -1)
            # F.linear(h, U, b) is addmm(b, h, U.t())
            h_r, h_z, h_n = (h_proj if h_proj is not None else torch.addmm(bias, h, weight_t)).chunk(3, -1)
            r = torch.sigmoid(x_r + h_r)
            z = torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + r * h_n)
            return (n + z * (h - n),)

        return step
