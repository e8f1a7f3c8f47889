"""The LSTM without peepholes (Hochreiter & Schmidhuber 1997; forget gate of Gers et al. 2000) and LSTM-b.

    i_t = σ(W_i x_t + U_i h_{t-1} + b_i)        input gate
    f_t = σ(W_f x_t + U_f h_{t-1} + b_f)        forget gate
    g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)     candidate
    o_t = σ(W_o x_t + U_o h_{t-1} + b_o)        output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t ;   h_t = o_t ⊙ tanh(c_t)

This is the baseline LSTM of Jozefowicz et al. 2015 (ICML, §2) and exactly ``torch.nn.LSTM`` (same gate order
i, f, g, o; parameters in its layout, b = b_ih + b_hh). The output gate uses σ, the standard form; the third-party
transcription of Jozefowicz et al. (docs/papers.md §3.2) writes tanh there, which we could not verify against the
paper.

LSTM-b (Jozefowicz et al. 2015): the same cell with ``forget_bias = 1`` — the constant is added to the initial
forget-gate bias b_ih[f] on top of the default initialisation, so σ(b_f) ≈ σ(1) ≈ 0.73 at the start.
"""

from __future__ import annotations

import torch

from rnnlab.cells.base import RecurrentCell, new_vector, new_weight


class LSTMCell(RecurrentCell):
    """LSTM without peepholes: (h, c) state; gates i, f, g (candidate), o; ``torch.nn.LSTM`` layout."""

    state_names = ("h", "c")
    gate_names = ("i", "f", "g", "o")
    candidate_names = ("g",)
    n_blocks = 4
    block_names = ("i", "f", "g", "o")
    recurrent_blocks = {"weight_hh": ("i", "f", "g", "o")}
    torch_equivalent = "lstm"
    options = ("forget_bias",)
    has_forget_gate = True
    default_forget_bias = 0.0

    def __init__(self, input_size, hidden_size, prev_size=None, *, forget_bias=None):
        super().__init__(input_size, hidden_size, prev_size)
        self.forget_bias = self.default_forget_bias if forget_bias is None else float(forget_bias)
        rows = 4 * hidden_size
        self.weight_ih = new_weight(rows, input_size)
        self.weight_hh = new_weight(rows, hidden_size)
        self.bias_ih = new_vector(rows)
        self.bias_hh = new_vector(rows)
        self.reset_parameters()

    def after_reset(self) -> None:
        with torch.no_grad():
            self.bias_ih[self.hidden_size : 2 * self.hidden_size] += self.forget_bias

    def duplicate_parameter_count(self) -> int:
        return self.bias_hh.numel()

    def input_bias(self):
        return self.bias_ih + self.bias_hh  # b_hh only ever adds to b_ih: fold it into the hoisted projection

    def recurrent_weight(self):
        return self.weight_hh, None

    def step(self, x_proj, state, h_proj=None, gates=None):
        h, c = state
        i, f, g, o = self.pre_activation(x_proj, h, h_proj).chunk(4, -1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = torch.addcmul(f * c, i, g)
        h = o * torch.tanh(c)
        if gates is not None:
            gates.update(i=i, f=f, g=g, o=o)
        return h, c

    def stepper(self):
        weight_t = self.weight_hh.t()

        def step(x_proj, state, h_proj=None):
            h, c = state
            i, f, g, o = (x_proj + h_proj if h_proj is not None else torch.addmm(x_proj, h, weight_t)).chunk(4, -1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = torch.addcmul(f * c, i, g)
            return o * torch.tanh(c), c

        return step

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, forget_bias={self.forget_bias}"


class LSTMbCell(LSTMCell):
    """LSTM-b of Jozefowicz et al. 2015: the LSTM with its forget-gate bias initialised 1 higher."""

    default_forget_bias = 1.0
