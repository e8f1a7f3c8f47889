"""LSTM ablations of Jozefowicz et al. 2015 (ICML, §3): one gate removed, i.e. held at the constant 1.

    LSTM-f  (lstm_nof):  f_t ≡ 1   →  c_t = c_{t-1} + i_t ⊙ g_t
    LSTM-i  (lstm_noi):  i_t ≡ 1   →  c_t = f_t ⊙ c_{t-1} + g_t
    LSTM-o  (lstm_noo):  o_t ≡ 1   →  h_t = tanh(c_t)

Everything else is the LSTM of ``lstm.py`` (no peepholes, σ output gate). "Removed = constant 1" is our reading:
the transcription available to us (docs/papers.md §3.3) does not state it. The removed gate has no weights at all;
the kept blocks stay in the order i, f, g, o with one bias per block.
"""

from __future__ import annotations

import torch

from rnnlab.cells.base import RecurrentCell, new_vector, new_weight

ALL_BLOCKS = ("i", "f", "g", "o")


class AblatedLSTMCell(RecurrentCell):
    """An LSTM whose gate ``removed`` ("i", "f" or "o") is the constant 1; subclasses fix ``removed``."""

    state_names = ("h", "c")
    candidate_names = ("g",)
    n_blocks = 3
    removed = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.blocks = cls.gate_names = cls.block_names = tuple(name for name in ALL_BLOCKS if name != cls.removed)
        cls.recurrent_blocks = {"weight_hh": cls.blocks}

    def __init__(self, input_size, hidden_size, prev_size=None, *, forget_bias=None):
        super().__init__(input_size, hidden_size, prev_size)
        self.forget_bias = (self.default_forget_bias or 0.0) if forget_bias is None else float(forget_bias)
        rows = 3 * hidden_size
        self.weight_ih = new_weight(rows, input_size)
        self.weight_hh = new_weight(rows, hidden_size)
        self.bias = new_vector(rows)
        self.reset_parameters()

    def after_reset(self) -> None:
        if "f" in self.blocks:
            start = self.blocks.index("f") * self.hidden_size
            with torch.no_grad():
                self.bias[start : start + self.hidden_size] += self.forget_bias

    def input_bias(self):
        return self.bias

    def recurrent_weight(self):
        return self.weight_hh, None

    def step(self, x_proj, state, h_proj=None, gates=None):
        h, c = state
        pre = dict(zip(self.blocks, self.pre_activation(x_proj, h, h_proj).chunk(3, -1), strict=True))
        g = torch.tanh(pre["g"])
        i = torch.sigmoid(pre["i"]) if "i" in pre else None
        f = torch.sigmoid(pre["f"]) if "f" in pre else None
        o = torch.sigmoid(pre["o"]) if "o" in pre else None
        c = (c if f is None else f * c) + (g if i is None else i * g)
        h = torch.tanh(c) if o is None else o * torch.tanh(c)
        if gates is not None:
            gates.update({name: gate for name, gate in (("i", i), ("f", f), ("g", g), ("o", o)) if gate is not None})
        return h, c

    def stepper(self):  # step's operations, with U transposed once and no dict (RecurrentCell.stepper)
        weight_t, blocks = self.weight_hh.t(), self.blocks
        k_i, k_f, k_g, k_o = (blocks.index(name) if name in blocks else None for name in ALL_BLOCKS)

        def step(x_proj, state, h_proj=None):
            h, c = state
            pre = (x_proj + h_proj if h_proj is not None else torch.addmm(x_proj, h, weight_t)).chunk(3, -1)
            g = torch.tanh(pre[k_g])
            kept = c if k_f is None else torch.sigmoid(pre[k_f]) * c
            c = kept + (g if k_i is None else torch.sigmoid(pre[k_i]) * g)
            return (torch.tanh(c) if k_o is None else torch.sigmoid(pre[k_o]) * torch.tanh(c)), c

        return step

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, removed={self.removed}, forget_bias={self.forget_bias}"


class LSTMNoForgetCell(AblatedLSTMCell):
    """LSTM-f: no forget gate (f ≡ 1)."""

    removed = "f"
    options = ()
    has_forget_gate = False
    default_forget_bias = None

    def __init__(self, input_size, hidden_size, prev_size=None):
        super().__init__(input_size, hidden_size, prev_size)


class LSTMNoInputCell(AblatedLSTMCell):
    """LSTM-i: no input gate (i ≡ 1)."""

    removed = "i"
    options = ("forget_bias",)
    has_forget_gate = True
    default_forget_bias = 0.0


class LSTMNoOutputCell(AblatedLSTMCell):
    """LSTM-o: no output gate (o ≡ 1)."""

    removed = "o"
    options = ("forget_bias",)
    has_forget_gate = True
    default_forget_bias = 0.0
