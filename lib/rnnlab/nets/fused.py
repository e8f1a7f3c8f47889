"""Run a plain recurrent level through the fused ``torch.nn`` module (cuDNN on CUDA, oneDNN on CPU).

The level's cell keeps its parameters in ``torch.nn`` layout; they are handed to a parameter-less template module
(built once on the meta device) with ``torch.func.functional_call``, so the loop path and the fused path read
the very same tensors.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn
from torch.func import functional_call

TEMPLATES = {
    "rnn_tanh": lambda n_in, hidden: nn.RNN(n_in, hidden, nonlinearity="tanh", device="meta"),
    "rnn_relu": lambda n_in, hidden: nn.RNN(n_in, hidden, nonlinearity="relu", device="meta"),
    "lstm": lambda n_in, hidden: nn.LSTM(n_in, hidden, device="meta"),
    "gru": lambda n_in, hidden: nn.GRU(n_in, hidden, device="meta"),
}


@lru_cache(maxsize=64)
def torch_template(kind: str, n_in: int, hidden: int) -> nn.Module:
    """The ``torch.nn`` module equal to a cell of kind ``kind`` (parameters on the meta device, never used)."""
    return TEMPLATES[kind](n_in, hidden)


def fused_forward(cell, x: torch.Tensor, state: tuple[torch.Tensor, ...]):
    """(T,B,n_in) -> outputs (T,B,H) and the final state tuple, computed by the torch.nn module."""
    template = torch_template(cell.torch_equivalent, cell.input_size, cell.hidden_size)
    params = {
        "weight_ih_l0": cell.weight_ih,
        "weight_hh_l0": cell.weight_hh,
        "bias_ih_l0": cell.bias_ih,
        "bias_hh_l0": cell.bias_hh,
    }
    hx = tuple(s.unsqueeze(0) for s in state)
    out, final = functional_call(template, params, (x, hx if len(hx) > 1 else hx[0]))
    final = final if isinstance(final, tuple) else (final,)
    return out, tuple(s.squeeze(0) for s in final)
