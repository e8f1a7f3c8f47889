"""The papers' model sizes rebuilt: Pascanu et al. 2014's Table 1 and Chung et al. 2014's Table 1, each printed
count set beside the count of the model ``rnnlab.nets.build_model`` builds for it (and, for Pascanu, beside the
count the construction diagram of :mod:`rnnlab.viz.cells_view` adds up).

The printed numbers live with the papers' other published numbers in :mod:`rnnlab.papers` (docs/papers.md §1.3
transcribes them); this module rebuilds each model and counts.
"""

from __future__ import annotations

import pandas as pd

from rnnlab.nets import build_model, count_params, count_weights
from rnnlab.papers import CHUNG_TABLE1, PASCANU_TABLE1
from rnnlab.viz.cells_view import preset_construction


def printed_interval(printed: str) -> tuple[int, int]:
    """The integers a truncated count prints as: ``"465K"`` -> [465000, 466000), ``"4.04M"`` -> [4040000, 4050000)."""
    number, unit = printed[:-1], printed[-1]
    scale = {"K": 1_000, "M": 1_000_000}[unit]
    decimals = len(number.split(".")[1]) if "." in number else 0
    low = round(float(number) * scale)
    return low, low + scale // 10 ** decimals


def table1_kwargs(n_io: int, arch: str, sizes: tuple[int, ...]) -> dict:
    """``build_model`` keyword arguments of one Table 1 entry (tanh cells; word-PTB reads token ids)."""
    kwargs = {"arch": arch, "cell": "tanh", "n_in": n_io, "n_out": n_io, "hidden": sizes[0],
              "token_input": n_io != 88}
    if len(sizes) > 1:
        kwargs["transition_hidden"] = sizes[1]
    if len(sizes) > 2:
        kwargs["output_hidden"] = sizes[2]
    return kwargs


def pascanu_table1() -> pd.DataFrame:
    """Our weights-only counts of Pascanu Table 1's 20 models, built with ``rnnlab.nets.build_model``, beside the
    counts the diagrams add up and the paper's printed (truncated) numbers."""
    rows = []
    for task, n_io, arch, sizes, printed in PASCANU_TABLE1:
        kwargs = table1_kwargs(n_io, arch, sizes)
        model = build_model(**kwargs)
        ours = count_weights(model)
        drawn = preset_construction(arch, n_io, n_io, sizes[0], *sizes[1:3]).n_weights
        low, high = printed_interval(printed)
        rows.append({"task": task, "model": arch, "sizes": ",".join(map(str, sizes)), "paper": printed,
                     "ours (weights)": ours, "diagram": drawn, "matches paper": low <= ours < high,
                     "all parameters": count_params(model)})
        del model
    return pd.DataFrame(rows)


def chung_table1() -> pd.DataFrame:
    """Chung's matched model sizes rebuilt: our recurrent-layer count beside the printed ≈ thousands."""
    rows = []
    for task, unit, cell, units, n_in, printed in CHUNG_TABLE1:
        model = build_model(arch="rnn", cell=cell, n_in=n_in, n_out=n_in, hidden=units)
        ours = count_params(model.levels, duplicate_biases=False)
        rows.append({"task": task, "unit": unit, "cell": cell, "units": units, "input width": n_in,
                     "paper (thousands)": printed, "ours": ours, "within 0.1k": abs(ours / 1000 - printed) < 0.1})
    return pd.DataFrame(rows)
