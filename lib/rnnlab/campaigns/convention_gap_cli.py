"""``rnnlab convention-gap``: the two music NLL conventions side by side per set (``rnnlab.campaigns.convention_gap``):
the per-key Bernoulli baseline on the four canonical music sets (``$RNNLAB_DATA``) and every model published in
``results/<paper>.csv``.

    rnnlab convention-gap                                   # writes results/convention_gap.csv
    rnnlab convention-gap --results results --out /tmp/gap.csv
"""

from __future__ import annotations

from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--results", type=Path, default=None,
                        help="folder of the published campaign tables <paper>.csv (default: results/)")
    parser.add_argument("--out", type=Path, default=None, help="CSV to write (default: results/convention_gap.csv)")


def main(args) -> int:
    import pandas as pd

    from rnnlab.campaigns.convention_gap import RESULTS, convention_gap_table, write_convention_gap

    table = convention_gap_table(args.results or RESULTS)
    out = args.out or RESULTS / "convention_gap.csv"
    write_convention_gap(table, out)
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(table.round(3).to_string(index=False))
    print(f"wrote {out}")
    return 0
