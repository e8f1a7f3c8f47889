"""Run a plain recurrent level through the fused ``torch.nn`` kernel (cuDNN on CUDA, oneDNN on CPU).

The level's cell keeps its parameters in ``torch.nn`` layout (weight_ih, weight_hh, bias_ih, bias_hh), and they go
straight to the kernel ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` call in their ``forward`` (``torch._VF``, one layer,
unidirectional, time-major, the module's training flag), so the loop path and the fused path read the very same
tensors, and no module is built or swapped per call.
"""

from __future__ import annotations

import torch
from torch import _VF

KERNELS = {"rnn_tanh": _VF.rnn_tanh, "rnn_relu": _VF.rnn_relu, "lstm": _VF.lstm, "gru": _VF.gru}


def fused_forward(cell, x: torch.Tensor, state: tuple[torch.Tensor, ...]):
    """(T,B,n_in) -> outputs (T,B,H) and the final state tuple, computed by the torch.nn module's kernel."""
    weights = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    hx = tuple(s.unsqueeze(0) for s in state)
    # the arguments torch.nn.RNNBase.forward passes: bias, 1 layer, no dropout, train=True (the flag of a module
    # that is never put in eval mode, as the template module this replaces), unidirectional, time-major
    out, *final = KERNELS[cell.torch_equivalent](x, hx if len(hx) > 1 else hx[0], weights, True, 1, 0.0, True,
                                                  False, False)
    return out, tuple(s.squeeze(0) for s in final)
