"""How large an LSTM's cell state grows on a set's pieces, and how often its gates saturate (notebook 11).

For each run: its best checkpoint (``load_trained_model``) records the first ``pieces`` validation pieces with
``record_states`` (the state starts at zero and is carried through the whole piece, as the trainer carries it across
BPTT chunks); the statistics pool every unit and step of the bottom recorded layer: the mean and 99th percentile of
|c_t|, and per gate (i, f, o; Hochreiter & Schmidhuber 1997, Gers et al. 2000) the fraction of activations outside
[0.05, 0.95]. Written to explain why the LSTM-peephole 36 of Chung et al. 2014 learns slowly on Piano-midi and
MuseData and not on JSB: with peepholes the gates read c_t, so a cell state in the hundreds pins them open or shut.
``rnnlab cell-state`` writes ``results/chung2014-lstm-cell-state.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnlab.errors import RnnlabError, check_positive

GATES = ("i", "f", "o")


def cell_state_summary(states: list, saturated: float = 0.05) -> dict:
    """Statistics of the bottom recorded layer over a list of ``PieceStates``: ``abs_c_mean``, ``abs_c_p99`` and,
    per gate the cell has among i, f, o, ``sat_<gate>``: the fraction of activations below ``saturated`` or above
    ``1 - saturated``."""
    layer = states[0].layers[0]
    c = np.abs(np.concatenate([s.c[layer] for s in states]))
    out = {"abs_c_mean": float(c.mean()), "abs_c_p99": float(np.percentile(c, 99))}
    for gate in GATES:
        if gate in states[0].gates.get(layer, {}):
            values = np.concatenate([s.gates[layer][gate] for s in states])
            out[f"sat_{gate}"] = float(((values < saturated) | (values > 1 - saturated)).mean())
    return out


def summarise_run(run: str | Path, pieces: int = 12, store: str | Path | None = None) -> dict:
    """One row for the run folder ``run`` (relative to ``store`` when given; the row names it as given): its
    dataset, cell, lr, forget bias, the median length of the recorded pieces and ``cell_state_summary``."""
    from rnnlab.data import load_dataset
    from rnnlab.nets.states import record_states
    from rnnlab.train.runs import read_config
    from rnnlab.train.trained import load_trained_model

    check_positive("pieces", pieces)
    run_dir = Path(store) / run if store is not None else Path(run)
    dataset = load_dataset(read_config(run_dir).dataset)
    model, config = load_trained_model(run_dir, "best", dataset=dataset)
    sequences = dataset.splits["valid"][:pieces]
    states = [record_states(model, torch.as_tensor(s, dtype=torch.float32)) for s in sequences]
    if not states[0].c:
        raise RnnlabError(f"{run}: cell {config.cell!r} keeps no cell state c_t; give runs of an LSTM cell")
    return {"run": str(Path(run)), "dataset": config.dataset, "cell": config.cell, "lr": config.lr,
            "forget_bias": config.forget_bias, "median_piece_steps": int(np.median([len(s) for s in sequences])),
            **cell_state_summary(states)}


def cell_state_table(runs, pieces: int = 12, store: str | Path | None = None) -> pd.DataFrame:
    """``summarise_run`` of every run in ``runs``, one row each (one thread: the numbers do not depend on it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return pd.DataFrame([summarise_run(run, pieces, store) for run in runs])
    finally:
        torch.set_num_threads(threads)
