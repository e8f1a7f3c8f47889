"""How far apart the two music NLL conventions (docs/conventions.md §1–2) put the same model, per dataset.

``nll`` is the mean negative log-likelihood over all test frames (nats per frame, pieces weighted by their length),
``nll_pieces`` the mean over pieces of each piece's mean; ``gap`` = ``nll_pieces − nll``. Two kinds of rows:

- the frame-independent baseline, no training: one Bernoulli per key fitted on the training frames (add-one
  smoothed), scored on the predicted test frames (every frame but a piece's first, as the trainer scores them);
- every trained model published by a paper's own campaign (``results/<paper>.csv``: the best draw or seed of each
  model, on its test set), to show whether the baseline's gap predicts a trained model's. Variants such as
  ``chung2014-seeds.csv`` are left out: their seed and probe runs would appear as extra models.

A gap as large as the difference between two papers' numbers for similar models says the papers may simply
normalise differently (notebook 11). ``rnnlab convention-gap`` writes ``results/convention_gap.csv``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import torch

from rnnlab.campaigns.report import PAPERS
from rnnlab.campaigns.results import best_of_groups
from rnnlab.data import MUSIC_SETS, load_dataset
from rnnlab.errors import RnnlabError, check_choice
from rnnlab.files import atomic_write
from rnnlab.paths import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "results"
BASELINE = "per-key Bernoulli (no training)"


def bernoulli_conventions(splits: dict) -> dict:
    """Both conventions of the per-key Bernoulli baseline: ``splits`` maps train/test to lists of (T, 88) rolls.
    Also ``test_pieces`` and ``length_cv``, the coefficient of variation of the scored test lengths (what makes
    the two conventions differ)."""
    train = torch.cat([piece[1:] for piece in splits["train"]])
    p = (train.sum(0) + 1) / (len(train) + 2)  # add-one smoothed per-key marginal
    log_p, log_q = p.log(), (1 - p).log()
    per_piece, total, frames = [], 0.0, 0
    for piece in splits["test"]:
        target = piece[1:]
        nll = -(target * log_p + (1 - target) * log_q).sum(1)  # nats per frame
        per_piece.append(nll.mean().item())
        total += nll.sum().item()
        frames += len(target)
    lengths = [len(piece) - 1 for piece in splits["test"]]
    return {"nll": total / frames, "nll_pieces": sum(per_piece) / len(per_piece), "test_pieces": len(lengths),
            "length_cv": pd.Series(lengths).std() / pd.Series(lengths).mean()}


def baseline_conventions(name: str, fallback: bool = False) -> dict:
    """The baseline's row for music set ``name`` (its canonical files; ``fallback``: a stand-in where they are
    missing, see ``load_dataset``)."""
    check_choice("music set", name, MUSIC_SETS)
    return {"dataset": name, "model": BASELINE,
            **bernoulli_conventions(load_dataset(name, fallback=fallback).splits)}


def trained_runs(results: str | Path = RESULTS) -> pd.DataFrame:
    """The best run of each model in each paper campaign's table under ``results`` (variants left out): dataset,
    model (``<campaign>: <point>``), nll and nll_pieces of its test set."""
    rows = []
    for table in sorted(Path(results).glob("*.csv")):
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


def convention_gap_table(results: str | Path = RESULTS, datasets=MUSIC_SETS, fallback: bool = False) -> pd.DataFrame:
    """The baseline on each of ``datasets`` and every published model (``trained_runs``), with ``gap``; sorted by
    set (``MUSIC_SETS`` order), the baseline first. Unrounded (``write_convention_gap`` rounds to 4 places)."""
    for name in datasets:
        check_choice("music set", name, MUSIC_SETS)
    table = pd.concat([pd.DataFrame([baseline_conventions(name, fallback) for name in datasets]),
                       trained_runs(results)], ignore_index=True)
    table["gap"] = table.nll_pieces - table.nll
    bad = table[[not math.isfinite(v) for v in table.gap]]
    if len(bad):
        raise RnnlabError(f"no finite gap for {', '.join(bad.model + ' on ' + bad.dataset)}; check their tables")
    return table.sort_values(["dataset", "model"], key=lambda c: c.map(MUSIC_SETS.index) if c.name == "dataset"
                             else c.str.startswith("per-key").map({True: 0, False: 1}))


def write_convention_gap(table: pd.DataFrame, path: str | Path) -> None:
    """``table`` rounded to 4 places, as ``results/convention_gap.csv`` holds it."""
    with atomic_write(path) as out:
        out.write(table.round(4).to_csv(index=False).encode())
