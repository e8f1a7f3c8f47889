"""Parameter counts under the papers' conventions.

* ``count_weights`` — Pascanu et al. 2014, Table 1: weight MATRICES only (every parameter with >= 2 dims).
  Biases, LSTM peephole diagonals (stored as vectors) and learned L_p orders are not counted. With this
  convention all 20 entries of Pascanu's Table 1 are reproduced exactly (tests/test_param_counts.py).
* ``count_params`` — everything trainable. ``duplicate_biases=False`` counts torch's b_ih + b_hh pairs
  (which only ever appear summed) once, i.e. one bias per gate unit.
* Chung et al. 2014, Table 1 (≈20k music / ≈169k speech): ``count_params(model.levels,
  duplicate_biases=False)`` — the recurrent layer only (no output layer), one bias per gate unit, the
  LSTM with its three peephole vectors (``lstm_peephole``, Chung's LSTM), the GRU in Chung's form (``gru``).
  Speech (input = 20 samples, stated in the paper): LSTM 195 → 169,065; GRU 227 → 168,888; tanh 400 → 168,400,
  i.e. exactly the printed 169.1k / 168.9k / 168.4k. Music: only an input 100 wide fits (the paper does not say
  which; its sets are 93–108 wide): LSTM 36 → 19,836; GRU 46 → 20,286; tanh 100 → 20,100 — the printed
  19.8k / 20.2k / 20.1k truncated to 0.1k (the GRU's 20,286 would round to 20.3k), so every count lies within
  one unit of the paper's last digit.
"""

from __future__ import annotations

from torch import nn


def count_weights(module: nn.Module) -> int:
    """Number of entries in weight matrices (parameters with >= 2 dimensions): Pascanu's Table 1 convention."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad and p.dim() >= 2)


def count_params(module: nn.Module, *, duplicate_biases: bool = True) -> int:
    """Number of trainable parameters; ``duplicate_biases=False`` counts each summed bias pair once."""
    total = sum(p.numel() for p in module.parameters() if p.requires_grad)
    if not duplicate_biases:
        total -= sum(m.duplicate_parameter_count() for m in module.modules() if hasattr(m, "duplicate_parameter_count"))
    return total
