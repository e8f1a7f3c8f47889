"""MUT1, MUT2, MUT3: the three best architectures found by Jozefowicz et al. 2015 (ICML, §3, Fig./eqs. of MUT1-3).

Transcribed as in docs/papers.md §3.4 (a third-party transcription; an independent one agrees); h' is the new state:

    MUT1:  z = σ(W_xz x + b_z)                                    (z ignores h)
           r = σ(W_xr x + W_hr h + b_r)
           h' = tanh(W_hh (r ⊙ h) + tanh(x) + b_h) ⊙ z + h ⊙ (1 − z)

    MUT2:  z = σ(W_xz x + W_hz h + b_z)
           r = σ(x + W_hr h + b_r)                                (raw x, no matrix)
           h' = tanh(W_hh (r ⊙ h) + W_xh x + b_h) ⊙ z + h ⊙ (1 − z)

    MUT3:  z = σ(W_xz x + W_hz tanh(h) + b_z)
           r = σ(W_xr x + W_hr h + b_r)
           h' = tanh(W_hh (r ⊙ h) + W_xh x + b_h) ⊙ z + h ⊙ (1 − z)

Input embedding (our decision): in the paper every node has the hidden width, so x is itself an H-wide vector.
MUT1 and MUT2 use raw x inside an H-wide sum, so they first embed the input with a learned linear map
E (``weight_embed``, H × n_in, no bias) and then read x := E x everywhere in the equations above — all W_x*
matrices are H × H and act on the embedding. (Embedding only the raw-x term instead would make MUT2 identical to
the GRU, since E x in r's sum is then just another W_xr x.) MUT3 has no raw-x term and reads x directly.

With no external input (deep-transition layers 2..L) every x term is absent: MUT1's z becomes σ(b_z) and its
tanh(x) term vanishes; MUT2's r becomes σ(W_hr h + b_r).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnnlab.cells.base import RecurrentCell, new_vector, new_weight, project
from rnnlab.cells.gru import GRUCell


class _EmbeddedInput:
    """Mixin for MUT1/MUT2: x is embedded as e = E x, the cell's pre-activation blocks are computed from e."""

    input_weight_names = ("weight_embed",)

    def _make_input_weights(self, input_size: int, hidden_size: int) -> None:
        self.weight_embed = new_weight(hidden_size, input_size)
        self.weight_ih = new_weight(2 * hidden_size, hidden_size if input_size > 0 else 0)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return project(x, self.weight_embed)


class MUT1Cell(_EmbeddedInput, RecurrentCell):
    """MUT1 with blocks z, r, e (e = the embedded input, which enters h' through tanh(e))."""

    gate_names = ("z", "r", "n")
    candidate_names = ("n",)
    n_blocks = 3
    block_names = ("z", "r", "n")  # the third block, e, enters only the candidate n
    recurrent_blocks = {"weight_hh_r": ("r",), "weight_hh": ("",)}

    def __init__(self, input_size, hidden_size, prev_size=None):
        super().__init__(input_size, hidden_size, prev_size)
        self._make_input_weights(input_size, hidden_size)  # weight_ih = [W_xz; W_xr], reading e
        self.weight_hh_r = new_weight(hidden_size, hidden_size)
        self.weight_hh = new_weight(hidden_size, hidden_size)
        self.bias = new_vector(3 * hidden_size)  # b_z, b_r, b_h
        self.reset_parameters()

    def input_bias(self):
        return torch.cat((self.bias[: 2 * self.hidden_size], self.bias.new_zeros(self.hidden_size)))

    def input_projection(self, x):
        """[W_xz e + b_z, W_xr e + b_r, e] with e = E x."""
        if x is None or self.input_size == 0:
            return self.input_bias()
        e = self.embed(x)
        return torch.cat((F.linear(e, self.weight_ih, self.bias[: 2 * self.hidden_size]), e), -1)

    def prepare_input(self, x_proj):
        """[z, W_xr e + b_r, tanh(e) + b_h]: z and tanh(x) do not depend on h, so they are computed for all t."""
        x_z, x_r, e = x_proj.chunk(3, -1)
        return torch.cat((torch.sigmoid(x_z), x_r, torch.tanh(e) + self.bias[2 * self.hidden_size :]), -1)

    def recurrent_weight(self):
        return self.weight_hh_r, None

    def step(self, x_prep, state, h_proj=None, gates=None):
        (h,) = state
        z, x_r, x_n = x_prep.chunk(3, -1)
        r = torch.sigmoid(self.pre_activation(x_r, h, h_proj))
        n = torch.tanh(torch.addmm(x_n, r * h, self.weight_hh.t()))
        if gates is not None:
            gates.update(z=z, r=r, n=n)
        return (h + z * (n - h),)

    def stepper(self):  # step's operations, with the matrices transposed once (RecurrentCell.stepper)
        weight_r_t, weight_t = self.weight_hh_r.t(), self.weight_hh.t()

        def step(x_prep, state, h_proj=None):
            (h,) = state
            z, x_r, x_n = x_prep.chunk(3, -1)
            r = torch.sigmoid(x_r + h_proj if h_proj is not None else torch.addmm(x_r, h, weight_r_t))
            n = torch.tanh(torch.addmm(x_n, r * h, weight_t))
            return (h + z * (n - h),)

        return step


class MUT2Cell(_EmbeddedInput, GRUCell):
    """MUT2: the GRU step (blocks z, r, n) whose reset gate reads the embedded input e itself, without a matrix."""

    def __init__(self, input_size, hidden_size, prev_size=None):
        RecurrentCell.__init__(self, input_size, hidden_size, prev_size)
        self._make_input_weights(input_size, hidden_size)  # weight_ih = [W_xz; W_xh], reading e
        self.weight_hh_zr = new_weight(2 * hidden_size, hidden_size)
        self.weight_hh = new_weight(hidden_size, hidden_size)
        self.bias = new_vector(3 * hidden_size)  # b_z, b_r, b_h
        self.reset_parameters()

    def input_projection(self, x):
        if x is None or self.input_size == 0:
            return self.bias
        e = self.embed(x)
        x_z, x_n = F.linear(e, self.weight_ih).chunk(2, -1)
        return torch.cat((x_z, e, x_n), -1) + self.bias


class MUT3Cell(RecurrentCell):
    """MUT3: blocks z, r, n; the update gate reads tanh(h) through ``weight_hh_z``."""

    gate_names = ("z", "r", "n")
    candidate_names = ("n",)
    n_blocks = 3
    block_names = ("z", "r", "n")
    recurrent_blocks = {"weight_hh_z": ("z",), "weight_hh_r": ("r",), "weight_hh": ("",)}

    def __init__(self, input_size, hidden_size, prev_size=None):
        super().__init__(input_size, hidden_size, prev_size)
        self.weight_ih = new_weight(3 * hidden_size, input_size)  # W_xz, W_xr, W_xh
        self.weight_hh_z = new_weight(hidden_size, hidden_size)
        self.weight_hh_r = new_weight(hidden_size, hidden_size)
        self.weight_hh = new_weight(hidden_size, hidden_size)
        self.bias = new_vector(3 * hidden_size)
        self.reset_parameters()

    def input_bias(self):
        return self.bias

    def recurrent_weight(self):
        return self.weight_hh_r, None

    def step(self, x_proj, state, h_proj=None, gates=None):
        (h,) = state
        x_z, x_r, x_n = x_proj.chunk(3, -1)
        z = torch.sigmoid(torch.addmm(x_z, torch.tanh(h), self.weight_hh_z.t()))
        r = torch.sigmoid(self.pre_activation(x_r, h, h_proj))
        n = torch.tanh(torch.addmm(x_n, r * h, self.weight_hh.t()))
        if gates is not None:
            gates.update(z=z, r=r, n=n)
        return (h + z * (n - h),)

    def stepper(self):  # step's operations, with the matrices transposed once (RecurrentCell.stepper)
        weight_z_t, weight_r_t, weight_t = self.weight_hh_z.t(), self.weight_hh_r.t(), self.weight_hh.t()

        def step(x_proj, state, h_proj=None):
            (h,) = state
            x_z, x_r, x_n = x_proj.chunk(3, -1)
            z = torch.sigmoid(torch.addmm(x_z, torch.tanh(h), weight_z_t))
            r = torch.sigmoid(x_r + h_proj if h_proj is not None else torch.addmm(x_r, h, weight_r_t))
            n = torch.tanh(torch.addmm(x_n, r * h, weight_t))
            return (h + z * (n - h),)

        return step
