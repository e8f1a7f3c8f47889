"""How large an LSTM's cell state grows on a set's pieces, and how often its gates saturate.

    RNNLAB_DATA=/path/to/data python scripts/lstm_cell_state.py RUN_DIR [RUN_DIR ...] [--csv results/X.csv]

Reads each run's best checkpoint (``load_trained_model``), records the first ``--pieces`` validation pieces with
``record_states`` (the state starts at zero and is carried through the whole piece, as the trainer carries it
across BPTT chunks), and prints per run: the median length of those pieces, the mean and 99th percentile of |c_t|
over every unit and step, and for each gate (i, f, o) the fraction of activations outside [0.05, 0.95]. Written to
explain why the LSTM-peephole 36 learns slowly on Piano-midi and MuseData and not on JSB (notebook 11): with
peepholes the gates read c_t, so a cell state in the hundreds pins them open or shut.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

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


def summarise_run(run: Path, pieces: int) -> dict:
    from rnnlab.data import load_dataset
    from rnnlab.nets.states import record_states
    from rnnlab.train.trained import load_trained_model

    model, config = load_trained_model(run, "best")
    sequences = load_dataset(config.dataset).splits["valid"][:pieces]
    states = [record_states(model, torch.as_tensor(s, dtype=torch.float32)) for s in sequences]
    if not states[0].c:
        raise SystemExit(f"{run}: cell {config.cell!r} keeps no cell state c_t; give runs of an LSTM cell")
    return {"run": str(run), "dataset": config.dataset, "cell": config.cell, "lr": config.lr,
            "forget_bias": config.forget_bias, "median_piece_steps": int(np.median([len(s) for s in sequences])),
            **cell_state_summary(states)}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders with a best checkpoint")
    parser.add_argument("--pieces", type=int, default=12, help="validation pieces to record per run")
    parser.add_argument("--csv", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    table = pd.DataFrame([summarise_run(run, args.pieces) for run in args.runs])
    print(table.round({c: 3 for c in table.columns if c != "lr"}).to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
    return table


if __name__ == "__main__":
    main()
