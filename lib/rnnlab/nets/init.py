"""Pascanu et al.'s initialisation (arXiv 1312.6026, §5.2, music models), the ``init="pascanu"`` option.

* every hidden↔hidden matrix (recurrent matrices, intermediate transition layers, the shortcut S, the input
  matrices of levels above the first and of cells reading an embedded input): sparse with 20 non-zero incoming
  weights per unit drawn from N(0, 1) (Sutskever et al. 2013), then rescaled to largest singular value 1 — each
  gate/candidate block separately, since each is its own hidden↔hidden map;
* input→hidden (matrices reading the model's raw input x): N(0, 0.1²);
* hidden→output and hidden→deep-output-layer: N(0, 0.01²);
* biases and LSTM peepholes 0 (then the LSTMs' ``forget_bias`` is added again). Learned L_p orders keep theirs.

The default initialisation is PyTorch's: recurrent cells U(−1/√H, 1/√H) for every parameter, dense layers
``nn.Linear``'s.
"""

from __future__ import annotations

import torch
from torch import nn

N_INCOMING = 20


@torch.no_grad()
def sparse_unit_norm_(weight: torch.Tensor, block_rows: int, n_incoming: int = N_INCOMING) -> torch.Tensor:
    """Each block of ``block_rows`` rows: ``n_incoming`` N(0,1) entries per row, scaled to largest singular value 1."""
    for block in weight.split(block_rows, 0):
        rows, cols = block.shape
        keep = min(n_incoming, cols)
        values = torch.zeros(rows, cols, dtype=block.dtype)
        columns = torch.rand(rows, cols).argsort(1)[:, :keep]
        values.scatter_(1, columns, torch.randn(rows, keep, dtype=block.dtype))
        values /= torch.linalg.matrix_norm(values, ord=2).clamp_min(1e-12)
        block.copy_(values)
    return weight


@torch.no_grad()
def _dense(layer: nn.Module, std: float | None) -> None:
    weight = layer.linear.weight if hasattr(layer, "linear") else layer.weight
    bias = layer.linear.bias if hasattr(layer, "linear") else layer.bias
    if std is None:
        sparse_unit_norm_(weight, weight.shape[0])
    else:
        nn.init.normal_(weight, 0.0, std)
    bias.zero_()


@torch.no_grad()
def init_pascanu(model) -> None:
    """Re-initialise ``model`` (a RecurrentNet) in place as described in the module docstring."""
    raw_input_reaches_levels = len(model.input_layers) == 0
    for j, layer in enumerate(model.input_layers):
        _dense(layer, 0.1 if j == 0 else None)
    for k, level in enumerate(model.levels):
        for cell in level.cells:
            for name, param in cell.named_parameters(recurse=False):
                if param.dim() < 2:
                    param.zero_()
                elif k == 0 and raw_input_reaches_levels and name in cell.input_weight_names:
                    nn.init.normal_(param, 0.0, 0.1)
                else:
                    sparse_unit_norm_(param, cell.block_size)
            cell.after_reset()
        if level.shortcut_weight is not None:
            sparse_unit_norm_(level.shortcut_weight, level.cells[-1].block_size)
    for layer in model.output_layers:
        _dense(layer, 0.01)
    _dense(model.readout, 0.01)
