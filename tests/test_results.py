"""A campaign's results table and the join with the published numbers (rnnlab.train.results)."""

from __future__ import annotations

import json

import pytest

from rnnlab.train import TrainConfig
from rnnlab.train.results import COLUMNS, beside_paper, collect


def _fake_run(folder, summary: dict, **knobs):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(TrainConfig(**knobs).to_json())
    (folder / "summary.json").write_text(json.dumps(summary))


def test_collect_reads_every_run_and_beside_paper_gives_the_difference(tmp_path):
    base = {"status": "ok", "metric": "nll", "sizes": {"hidden": 200, "levels": 1}, "epochs_run": 40,
            "best_valid": 8.4, "train_seconds": 100.0, "tokens_per_s": 5000.0, "commit": "abc"}
    _fake_run(tmp_path / "jsb" / "rnn" / "seed=0", {**base, "test": {"nll": 8.40, "nll_pieces": 8.61},
                                                    "train_eval": {"nll": 7.9, "nll_pieces": 8.0}},
              dataset="jsb", arch="rnn", hidden=200, nonlinearity="sigmoid", seed=0)
    _fake_run(tmp_path / "jsb" / "dts" / "seed=0", {**base, "status": "diverged", "test": {}},
              dataset="jsb", arch="dts-rnn", hidden=400, nonlinearity="sigmoid")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{")
    table = collect(tmp_path)
    assert list(table.columns) == list(COLUMNS)
    assert sorted(table.point) == ["jsb/dts/seed=0", "jsb/rnn/seed=0"]
    row = table.set_index("point").loc["jsb/rnn/seed=0"]
    assert (row.test_nll, row.test_nll_pieces, row.train_nll, row.lr, row.optimizer) == (8.40, 8.61, 7.9, 1e-3,
                                                                                        "adam")
    joined = beside_paper(table, "Pascanu 2014")
    hit = joined[(joined.dataset == "jsb") & (joined.arch == "rnn")].iloc[0]
    assert hit.paper == 8.338 and hit.ours == 8.40 and hit["ours per piece"] == 8.61
    assert hit.difference == pytest.approx(8.40 - 8.338)
    dts = joined[(joined.dataset == "jsb") & (joined.arch == "dts-rnn")].iloc[0]
    assert dts.paper == 8.278 and dts.ours != dts.ours  # a diverged run has no number beside the paper's
    assert len(joined[joined.table == "Table 2"]) == 12  # the first four columns of Table 2, three sets
    chung = beside_paper(table, "Chung 2014", split="train")  # the train column reads the best model's train NLL
    assert set(chung.cell) == {"tanh", "gru", "lstm_peephole"}
    assert chung[(chung.dataset == "jsb") & (chung.cell == "tanh")].ours.tolist() == [7.9]
    assert chung.ours.notna().sum() == 1
