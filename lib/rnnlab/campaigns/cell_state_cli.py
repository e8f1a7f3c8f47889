"""``rnnlab cell-state``: how large trained LSTMs' cell state grows over validation pieces and how often their
gates saturate (``rnnlab.campaigns.cell_state``), one row per run folder with a best checkpoint.

    cd results/runs && rnnlab cell-state chung2014/jsb/lstm/lr=0.00173 chung2014/musedata/lstm/lr=0.00173 \\
        --csv ../chung2014-lstm-cell-state.csv
    rnnlab cell-state --store results/runs chung2014/jsb/lstm/lr=0.00173       # the same row, from the top
"""

from __future__ import annotations

from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("runs", nargs="+", help="run folders with a best checkpoint (relative to --store if given)")
    parser.add_argument("--store", type=Path, default=None, help="the run store the run folders are named in")
    parser.add_argument("--pieces", type=int, default=12, help="validation pieces to record per run")
    parser.add_argument("--csv", type=Path, help="also write the table here")


def main(args) -> int:
    from rnnlab.campaigns.cell_state import cell_state_table

    table = cell_state_table(args.runs, args.pieces, args.store)
    print(table.round({c: 3 for c in table.columns if c != "lr"}).to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0
