"""rnnlab.campaigns.convention_gap (``rnnlab convention-gap``): the two music NLL conventions of the per-key
Bernoulli baseline and of every published model."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from rnnlab.campaigns import convention_gap
from rnnlab.cli import main as cli_main
from rnnlab.data import MUSIC_SETS
from rnnlab.errors import RnnlabError


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


def _published(folder):
    row = {"dataset": "jsb", "status": "ok", "best_valid": 8.5, "test_nll": 8.4, "test_nll_pieces": 8.45}
    pd.DataFrame([{**row, "point": "jsb/gru/lr=0.001"}, {**row, "point": "jsb/gru/lr=0.01", "best_valid": 9.0},
                  {**row, "dataset": "musedata", "point": "musedata/gru/lr=0.001", "test_nll_pieces": 7.123456}]
                 ).to_csv(folder / "chung2014.csv", index=False)
    pd.DataFrame([{**row, "point": "jsb/gru/seed=2"}]).to_csv(folder / "chung2014-seeds.csv", index=False)
    pd.DataFrame([{"dataset": "jsb", "nll": 1.0}]).to_csv(folder / "convention_gap.csv", index=False)


def test_trained_runs_reads_the_paper_campaigns_and_leaves_their_variants_out(tmp_path):
    _published(tmp_path)
    runs = convention_gap.trained_runs(tmp_path)
    assert list(runs.model) == ["chung2014: jsb/gru/lr=0.001", "chung2014: musedata/gru/lr=0.001"]
    assert runs.nll_pieces.tolist() == [8.45, 7.123456]


def test_the_table_orders_sets_as_music_sets_with_the_baseline_first_and_is_written_to_4_places(tmp_path,
                                                                                             monkeypatch, capsys):
    _published(tmp_path)
    monkeypatch.setattr(convention_gap, "load_dataset", lambda name, fallback: type("D", (), {"splits": {
        "train": [torch.zeros(5, 88)], "test": [torch.zeros(4, 88), torch.ones(3, 88)]}}))
    table = convention_gap.convention_gap_table(tmp_path, datasets=("musedata", "jsb"))
    assert list(zip(table.dataset, table.model, strict=True)) == [
        ("jsb", convention_gap.BASELINE), ("jsb", "chung2014: jsb/gru/lr=0.001"),
        ("musedata", convention_gap.BASELINE), ("musedata", "chung2014: musedata/gru/lr=0.001")]
    assert table.gap.tolist() == pytest.approx((table.nll_pieces - table.nll).tolist())
    assert cli_main(["convention-gap", "--results", str(tmp_path), "--out", str(tmp_path / "gap.csv")]) == 0
    written = pd.read_csv(tmp_path / "gap.csv")
    assert len(written) == 6 and list(written.dataset.drop_duplicates()) == list(MUSIC_SETS)  # 4 baselines, 2 models
    assert written.set_index("model").nll_pieces["chung2014: musedata/gru/lr=0.001"] == 7.1235
    with pytest.raises(RnnlabError, match="unknown music set 'ptb'"):
        convention_gap.convention_gap_table(tmp_path, datasets=("ptb",))
