"""The gated recurrent unit in Chung et al.'s form: reset gate BEFORE the matrix U; z = 1 takes the candidate.

    z_t = σ(W_z x_t + U_z h_{t-1} + b_z)              update gate
    r_t = σ(W_r x_t + U_r h_{t-1} + b_r)              reset gate
    n_t = tanh(W x_t + U (r_t ⊙ h_{t-1}) + b)         candidate h̃_t
    h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ n_t             (Chung et al. 2014, arXiv 1412.3555, Eq. 5)

Chung et al. write no biases; we keep one per block (z, r, n). Jozefowicz et al. 2015 use the same GRU with the
opposite naming of z. For the cuDNN / ``torch.nn.GRU`` form (reset after U) see ``gru_v1.py``.
"""

from __future__ import annotations

import torch

from rnnlab.cells.base import RecurrentCell, new_vector, new_weight


class GRUCell(RecurrentCell):
    """Chung et al.'s GRU: blocks z, r, n (candidate); U_z, U_r stacked in ``weight_hh_zr``, U in ``weight_hh``."""

    gate_names = ("z", "r", "n")
    candidate_names = ("n",)
    n_blocks = 3
    block_names = ("z", "r", "n")
    recurrent_blocks = {"weight_hh_zr": ("z", "r"), "weight_hh": ("",)}

    def __init__(self, input_size, hidden_size, prev_size=None):
        super().__init__(input_size, hidden_size, prev_size)
        self.weight_ih = new_weight(3 * hidden_size, input_size)
        self.weight_hh_zr = new_weight(2 * hidden_size, hidden_size)
        self.weight_hh = new_weight(hidden_size, hidden_size)
        self.bias = new_vector(3 * hidden_size)
        self.reset_parameters()

    def input_bias(self):
        return self.bias

    def recurrent_weight(self):
        return self.weight_hh_zr, None

    def step(self, x_proj, state, h_proj=None, gates=None):
        (h,) = state
        x_zr, x_n = x_proj.split((2 * self.hidden_size, self.hidden_size), -1)
        z, r = torch.sigmoid(self.pre_activation(x_zr, h, h_proj)).chunk(2, -1)
        n = torch.tanh(torch.addmm(x_n, r * h, self.weight_hh.t()))
        if gates is not None:
            gates.update(z=z, r=r, n=n)
        return (h + z * (n - h),)

    def stepper(self):
        sizes = (2 * self.hidden_size, self.hidden_size)
        weight_zr_t, weight_t = self.weight_hh_zr.t(), self.weight_hh.t()

        def step(x_proj, state, h_proj=None):
            (h,) = state
            x_zr, x_n = x_proj.split(sizes, -1)
            zr = x_zr + h_proj if h_proj is not None else torch.addmm(x_zr, h, weight_zr_t)
            z, r = torch.sigmoid(zr).chunk(2, -1)
            n = torch.tanh(torch.addmm(x_n, r * h, weight_t))
            return (h + z * (n - h),)

        return step
