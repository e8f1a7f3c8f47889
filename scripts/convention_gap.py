"""How far apart the two music NLL conventions (docs/conventions.md §1–2) put the same model, per dataset.

    RNNLAB_DATA=/path/to/data python scripts/convention_gap.py      # writes results/convention_gap.csv

No training: the model is the frame-independent baseline, one Bernoulli per key fitted on the training frames
(add-one smoothed), scored on the predicted test frames (every frame but a piece's first, as the trainer scores
them). ``nll`` is the mean over all test frames, ``nll_pieces`` the mean over pieces of each piece's mean; ``gap`` =
``nll_pieces − nll``. Beside it, the same gap of every trained run published in ``results/*.csv`` (test set, the
best-validation model), to show whether the baseline's gap predicts a trained model's. Only the papers' own
campaigns count (``chung2014.csv``, not its variants such as ``chung2014-seeds.csv``, whose seed and probe runs would
otherwise appear as extra models). A gap as large as the
difference between two papers' numbers for similar models says the papers may simply normalise differently.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
import torch

from rnnlab.data import MUSIC_SETS, load_dataset
from rnnlab.campaigns.report import PAPERS
from rnnlab.campaigns.results import best_of_groups

ROOT = Path(__file__).resolve().parents[1]


def baseline_conventions(name: str) -> dict:
    return {"dataset": name, "model": "per-key Bernoulli (no training)",
            **bernoulli_conventions(load_dataset(name, fallback=False).splits)}


def bernoulli_conventions(splits: dict) -> dict:
    """Both conventions of the per-key Bernoulli baseline: ``splits`` maps train/test to lists of (T, 88) rolls."""
    data = type("Splits", (), {"splits": splits})
    train = torch.cat([piece[1:] for piece in data.splits["train"]])
    p = (train.sum(0) + 1) / (len(train) + 2)  # add-one smoothed per-key marginal
    log_p, log_q = p.log(), (1 - p).log()
    per_piece, total, frames = [], 0.0, 0
    for piece in data.splits["test"]:
        target = piece[1:]
        nll = -(target * log_p + (1 - target) * log_q).sum(1)  # nats per frame
        per_piece.append(nll.mean().item())
        total += nll.sum().item()
        frames += len(target)
    lengths = [len(piece) - 1 for piece in data.splits["test"]]
    return {"nll": total / frames, "nll_pieces": sum(per_piece) / len(per_piece), "test_pieces": len(lengths),
            "length_cv": pd.Series(lengths).std() / pd.Series(lengths).mean()}


def trained_runs(results: Path = ROOT / "results") -> pd.DataFrame:
    """The best run of each model in each paper campaign's table under ``results`` (variants left out)."""
    rows = []
    for table in sorted(results.glob("*.csv")):
        if table.stem not in PAPERS:  # a variant (<paper>-<variant>) or another table
            continue
        runs = pd.read_csv(table)
        if not {"test_nll", "test_nll_pieces", "best_valid", "status"} <= set(runs.columns):
            continue
        runs = runs[(runs.status == "ok") & runs.test_nll_pieces.notna() & runs.dataset.isin(MUSIC_SETS)]
        if runs.empty:
            continue
        best = runs[runs.point.isin(best_of_groups(runs))]  # the best draw / seed of each model
        for row in best.itertuples():
            rows.append({"dataset": row.dataset, "model": f"{table.stem}: {row.point}", "nll": row.test_nll,
                         "nll_pieces": row.test_nll_pieces})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "convention_gap.csv")
    args = parser.parse_args(argv)
    table = pd.concat([pd.DataFrame([baseline_conventions(name) for name in MUSIC_SETS]), trained_runs()],
                      ignore_index=True)
    table["gap"] = table.nll_pieces - table.nll
    table = table.sort_values(["dataset", "model"], key=lambda c: c.map(MUSIC_SETS.index) if c.name == "dataset"
                              else c.str.startswith("per-key").map({True: 0, False: 1}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.round(4).to_csv(args.out, index=False)
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(table.round(3).to_string(index=False))
    assert all(math.isfinite(v) for v in table.gap)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
