"""scripts/convention_gap.py: the two music NLL conventions of the per-key Bernoulli baseline."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "convention_gap.py"
spec = importlib.util.spec_from_file_location("convention_gap", SCRIPT)
convention_gap = importlib.util.module_from_spec(spec)
spec.loader.exec_module(convention_gap)


def test_equal_lengths_give_equal_conventions_and_the_value_is_the_bernoulli_nll():
    torch.manual_seed(0)
    train = [(torch.rand(11, 88) < 0.05).float() for _ in range(6)]
    test = [(torch.rand(9, 88) < 0.05).float() for _ in range(4)]
    out = convention_gap.bernoulli_conventions({"train": train, "test": test})
    assert out["nll"] == pytest.approx(out["nll_pieces"], rel=1e-6)  # every piece weighs the same
    frames = torch.cat([t[1:] for t in train])
    p = (frames.sum(0) + 1) / (len(frames) + 2)
    y = torch.cat([t[1:] for t in test])
    by_hand = -sum(math.log(p[k]) if y[t, k] else math.log(1 - p[k]) for t in range(len(y)) for k in range(88))
    assert out["nll"] == pytest.approx(by_hand / len(y), rel=1e-5)


def test_a_long_easy_piece_pulls_the_frame_mean_below_the_piece_mean():
    silent = torch.zeros(201, 88)
    busy = torch.zeros(3, 88)
    busy[:, :40] = 1
    out = convention_gap.bernoulli_conventions({"train": [silent, busy], "test": [silent, busy]})
    assert out["nll"] < out["nll_pieces"]  # the long silent piece dominates frames, not pieces


def test_trained_runs_reads_the_paper_campaigns_and_leaves_their_variants_out(tmp_path):
    row = {"dataset": "jsb", "status": "ok", "best_valid": 8.5, "test_nll": 8.4, "test_nll_pieces": 8.45}
    pd.DataFrame([{**row, "point": "jsb/gru/lr=0.001"}]).to_csv(tmp_path / "chung2014.csv", index=False)
    pd.DataFrame([{**row, "point": "jsb/gru/seed=2"}]).to_csv(tmp_path / "chung2014-seeds.csv", index=False)
    pd.DataFrame([{"dataset": "jsb", "nll": 1.0}]).to_csv(tmp_path / "convention_gap.csv", index=False)
    runs = convention_gap.trained_runs(tmp_path)
    assert list(runs.model) == ["chung2014: jsb/gru/lr=0.001"]
    assert runs.nll_pieces.tolist() == [8.45]
