"""The LSTM with diagonal peephole connections, as used by Chung et al. 2014 (after Graves 2013).

    i_t = σ(W_i x_t + U_i h_{t-1} + v_i ⊙ c_{t-1} + b_i)
    f_t = σ(W_f x_t + U_f h_{t-1} + v_f ⊙ c_{t-1} + b_f)
    g_t = tanh(W_c x_t + U_c h_{t-1} + b_c)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                                   (Chung et al. 2014, Eq. 4)
    o_t = σ(W_o x_t + U_o h_{t-1} + v_o ⊙ c_t + b_o)                   (reads the NEW cell state c_t)
    h_t = o_t ⊙ tanh(c_t)

V_i, V_f, V_o are diagonal, stored as vectors v_i, v_f, v_o (``peephole_i`` …). Chung et al. write no biases;
we keep one per gate (b, in gate order i, f, g, o like ``torch.nn.LSTM``).
"""

from __future__ import annotations

import torch

from rnnlab.cells.base import RecurrentCell, new_vector, new_weight


class PeepholeLSTMCell(RecurrentCell):
    """Graves/Chung LSTM with diagonal peepholes; ``forget_bias`` is added to the initial b_f."""

    state_names = ("h", "c")
    gate_names = ("i", "f", "g", "o")
    candidate_names = ("g",)
    n_blocks = 4
    block_names = ("i", "f", "g", "o")
    recurrent_blocks = {"weight_hh": ("i", "f", "g", "o")}
    options = ("forget_bias",)
    has_forget_gate = True
    default_forget_bias = 0.0

    def __init__(self, input_size, hidden_size, prev_size=None, *, forget_bias=None):
        super().__init__(input_size, hidden_size, prev_size)
        self.forget_bias = self.default_forget_bias if forget_bias is None else float(forget_bias)
        rows = 4 * hidden_size
        self.weight_ih = new_weight(rows, input_size)
        self.weight_hh = new_weight(rows, hidden_size)
        self.bias = new_vector(rows)
        self.peephole_i = new_vector(hidden_size)
        self.peephole_f = new_vector(hidden_size)
        self.peephole_o = new_vector(hidden_size)
        self.reset_parameters()

    def after_reset(self) -> None:
        with torch.no_grad():
            self.bias[self.hidden_size : 2 * self.hidden_size] += self.forget_bias

    def input_bias(self):
        return self.bias

    def recurrent_weight(self):
        return self.weight_hh, None

    def step(self, x_proj, state, h_proj=None, gates=None):
        h, c_prev = state
        i, f, g, o = self.pre_activation(x_proj, h, h_proj).chunk(4, -1)
        i = torch.sigmoid(torch.addcmul(i, self.peephole_i, c_prev))
        f = torch.sigmoid(torch.addcmul(f, self.peephole_f, c_prev))
        g = torch.tanh(g)
        c = torch.addcmul(f * c_prev, i, g)
        o = torch.sigmoid(torch.addcmul(o, self.peephole_o, c))
        h = o * torch.tanh(c)
        if gates is not None:
            gates.update(i=i, f=f, g=g, o=o)
        return h, c

    def stepper(self):  # step's operations, with U transposed once (RecurrentCell.stepper)
        weight_t, v_i, v_f, v_o = self.weight_hh.t(), self.peephole_i, self.peephole_f, self.peephole_o

        def step(x_proj, state, h_proj=None):
            h, c_prev = state
            i, f, g, o = (x_proj + h_proj if h_proj is not None else torch.addmm(x_proj, h, weight_t)).chunk(4, -1)
            i, f = torch.sigmoid(torch.addcmul(i, v_i, c_prev)), torch.sigmoid(torch.addcmul(f, v_f, c_prev))
            c = torch.addcmul(f * c_prev, i, torch.tanh(g))
            return torch.sigmoid(torch.addcmul(o, v_o, c)) * torch.tanh(c), c

        return step

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, forget_bias={self.forget_bias}"
