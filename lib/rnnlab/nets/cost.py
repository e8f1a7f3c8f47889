"""What one time step of a model costs: a FLOP estimate from its weights, and the measured forward time.

Each weight matrix is applied once per time step and sequence as a multiply-add, so a step costs 2 FLOPs per
weight (``count_weights``: Pascanu et al. 2014's Table 1 convention); biases and element-wise nonlinearities are
not counted. ``one_step_cost`` sets that estimate beside the measured milliseconds per step; ``cost_table`` does it
for every preset with several cells (02_cells.ipynb).
"""

from __future__ import annotations

import time

import torch

from rnnlab.errors import check_positive
from rnnlab.nets.counting import count_params, count_weights


def flops_per_step(model) -> int:
    """Forward FLOPs per time step and sequence: 2 per weight (one multiply-add each; biases and element-wise
    nonlinearities are not counted). Holds for dense inputs; a token-input model indexes its input matrix."""
    return 2 * count_weights(model)


@torch.no_grad()
def one_step_cost(model, batch_size: int = 16, steps: int = 50, repeats: int = 3, seed: int = 0) -> dict:
    """Measured forward milliseconds per time step (best of ``repeats`` runs over ``steps`` steps of a random 0/1
    batch, after one warm-up) beside the weight and FLOP counts of ``model`` (dense input of width ``n_in``).

    Keys: weights, params, flops_per_step, ms_per_step, batch_size."""
    check_positive("batch_size", batch_size)
    check_positive("steps", steps)
    check_positive("repeats", repeats)
    n_in = model.config["n_in"]
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    x = (torch.rand(steps, batch_size, n_in, generator=generator) < 0.1).float().to(device)
    was_training = model.training
    model.eval()
    try:
        best = float("inf")
        for repeat in range(repeats + 1):  # the first run warms up and is not timed
            _synchronize(device)
            start = time.perf_counter()
            model(x)
            _synchronize(device)
            if repeat:
                best = min(best, time.perf_counter() - start)
    finally:
        model.train(was_training)
    return {"weights": count_weights(model), "params": count_params(model), "flops_per_step": flops_per_step(model),
            "ms_per_step": 1000 * best / steps, "batch_size": batch_size}


def _synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a timer measures the work and not only its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def cost_table(cells=("tanh", "gru", "lstm"), archs=None, *, hidden: int = 128, n_in: int = 88, n_out: int = 88,
               batch_size: int = 16, steps: int = 50, repeats: int = 3, seed: int = 0):
    """``one_step_cost`` of every ``arch`` (default: every preset of ``ARCHS``) with every cell, as a DataFrame:
    cell, arch, weights, parameters, MFLOP/step, ms/step, and each model's FLOP and time ratio to the plain ``rnn``
    of its cell (NaN when ``archs`` leaves ``rnn`` out)."""
    import pandas as pd

    from rnnlab.nets.archs import ARCHS
    from rnnlab.nets.model import build_model

    rows = []
    for cell in cells:
        for arch in ARCHS if archs is None else archs:
            model = build_model(arch=arch, cell=cell, n_in=n_in, n_out=n_out, hidden=hidden)
            cost = one_step_cost(model, batch_size=batch_size, steps=steps, repeats=repeats, seed=seed)
            rows.append({"cell": cell, "arch": arch, "weights": cost["weights"], "parameters": cost["params"],
                         "MFLOP/step": cost["flops_per_step"] / 1e6, "ms/step": cost["ms_per_step"]})
    costs = pd.DataFrame(rows)
    plain = costs[costs.arch == "rnn"].set_index("cell")
    costs["FLOP ratio"] = costs["MFLOP/step"] / costs["cell"].map(plain["MFLOP/step"])
    costs["time ratio"] = costs["ms/step"] / costs["cell"].map(plain["ms/step"])
    return costs
