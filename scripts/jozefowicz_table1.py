"""Jozefowicz et al. 2015, Table 1 at the architecture search's scale: the ten cells of the study on the
memorization, arithmetic and XML tasks, each with the same random hyperparameter settings from the paper's ranges
(common random numbers), best and mean accuracy per cell and task.

    .venv/bin/python scripts/jozefowicz_table1.py [--settings 12] [--workers 2] [--profile search|smoke]

Writes results/jozefowicz2015/table1_search_scale.csv. The cells are written as graphs (rnnlab.cells.graph; each
library graph equals its hand-written cell, tests/test_graph_cells.py); the three LSTM ablations hold the removed
gate at 1, as our hand-written lstm_nof/noi/noo do. The scale (one level of 24 units, a few hundred SGD updates,
tasks shrunk) is the search's, described in docs/search.md: the question is whether the paper's orderings hold
(forget gate >> input > output; LSTM-b >= LSTM; GRU and MUTs >= LSTM), not its absolute accuracies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.cells.graph.library import LIBRARY
from rnnlab.papers import paper_results
from rnnlab.search.compare import compare_cells

ROOT = Path(__file__).resolve().parents[1]
ABLATIONS = {  # the LSTM with one gate removed (held at 1)
    "lstm_nof": "i = sigmoid(lin(x) + lin(h))\ng = tanh(lin(x) + lin(h))\no = sigmoid(lin(x) + lin(h))\n"
                "c' = c + i * g\nh' = o * tanh(c')",
    "lstm_noi": "f = sigmoid(lin(x) + lin(h))\ng = tanh(lin(x) + lin(h))\no = sigmoid(lin(x) + lin(h))\n"
                "c' = f * c + g\nh' = o * tanh(c')",
    "lstm_noo": "i = sigmoid(lin(x) + lin(h))\nf = sigmoid(lin(x) + lin(h))\ng = tanh(lin(x) + lin(h))\n"
                "c' = f * c + i * g\nh' = tanh(c')",
}
_TABLE1 = paper_results().query("paper == 'Jozefowicz 2015' and table == 'Table 1'")
CELLS = tuple(dict.fromkeys(_TABLE1.cell))  # the ten cells of the paper's Table 1, in its order


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", type=int, default=12, help="random hyperparameter settings per cell and task")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", default="local", choices=("inline", "local", "ray"))
    parser.add_argument("--profile", default="search", choices=("search", "smoke"))
    parser.add_argument("--out", default=str(ROOT / "results" / "jozefowicz2015" / "table1_search_scale.csv"))
    args = parser.parse_args()
    equations = {name: ABLATIONS.get(name) or LIBRARY[name] for name in CELLS}
    table = compare_cells(equations, settings=args.settings, profile=args.profile, engine=args.engine,
                          workers=args.workers)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.drop(columns=["equations"]).to_csv(args.out, index=False)
    print(table.pivot(index="cell", columns="task", values="best").loc[list(CELLS)].to_string())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
