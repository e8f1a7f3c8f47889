"""The paper reports' tables and figures (notebooks 10-12): the paper's layout, the differences plotted, the
campaign status, Jozefowicz's Table 1 and its orderings, on hand-written campaign tables. The papers' numbers are
read back from ``rnnlab.papers``, never typed here."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rnnlab.campaigns.report import points_status
from rnnlab.campaigns.results import COLUMNS
from rnnlab.papers import JOZEFOWICZ_ORDERINGS, paper_results
from rnnlab.viz.reports import (
    compact_probe,
    difference_figure,
    orderings_beside_paper,
    paper_layout,
    relative_to_figure,
    table1_beside_paper,
)


def published(dataset: str, arch: str, cell: str, test: float, per_piece: float, train: float = 7.0,
              nonlinearity: str = "tanh", point: str | None = None, lr: float = 1e-3) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(point=point or f"{dataset}/{arch}/seed=0", dataset=dataset, data_origin="canonical", arch=arch,
               cell=cell, nonlinearity=nonlinearity, status="ok", test_nll=test, test_nll_pieces=per_piece,
               test_metric=test, train_nll=train, train_nll_pieces=train + 0.1, lr=lr, epochs_run=30, best_epoch=22,
               best_valid=test - 0.05)
    return row


def paper_value(paper: str, dataset: str, arch: str, cell: str, split: str = "test") -> float:
    table = paper_results()
    hit = table[(table.paper == paper) & (table.dataset == dataset) & (table.arch == arch) & (table.cell == cell)
                & (table.split == split) & (table.variant == "")]
    assert len(hit) == 1
    return float(hit.value.iloc[0])


def test_pascanu_in_the_papers_layout_names_the_unit_that_ran_and_the_difference_per_convention():
    table = pd.DataFrame([published("jsb", "rnn", "tanh", 8.36, 8.33, nonlinearity="sigmoid"),
                          published("jsb", "dts-rnn", "tanh", 8.30, 8.29, nonlinearity="sigmoid", point="jsb/dts/s")])
    layout = paper_layout(table, "Pascanu 2014")
    assert len(layout) == 12  # every row of Table 2's first four columns, run or not
    jsb = layout.loc["jsb"]
    assert list(jsb.index) == ["RNN, logistic", "DT(S)-RNN, logistic", "DOT(S)-RNN, tanh", "sRNN, tanh"]
    rnn = jsb.loc["RNN, logistic"]["test"]
    paper = paper_value("Pascanu 2014", "jsb", "rnn", "tanh")
    assert rnn["paper"] == paper and rnn["ours per frame"] == 8.36 and rnn["ours per piece"] == 8.33
    assert rnn["Δ per frame"] == pytest.approx(8.36 - paper) and rnn["Δ per piece"] == pytest.approx(8.33 - paper)
    assert math.isnan(jsb.loc["sRNN, tanh"][("test", "ours per frame")])  # not run: the paper's row, empty ours
    figure = difference_figure(layout, "t")
    per_frame = next(t for t in figure.data if t.name == "ours per frame − paper")
    assert list(per_frame.y[4:6]) == ["jsb · RNN, logistic", "jsb · DT(S)-RNN, logistic"]
    assert per_frame.x[4] == pytest.approx(8.36 - paper)


def test_chung_in_the_papers_layout_has_train_and_test_side_by_side_with_the_runs_knobs():
    table = pd.DataFrame([published("jsb", "rnn", "gru", 8.48, 8.44, train=7.70, point="jsb/gru/lr=0.0015",
                                    lr=1.5e-3)])
    lr = pd.Series(["0.0015"], index=table.point)
    layout = paper_layout(table, "Chung 2014", splits=("train", "test"), extra={"best lr": lr})
    assert list(dict.fromkeys(layout.columns.get_level_values(0))) == ["train", "test", "run"]
    gru = layout.loc[("jsb", "GRU")]
    assert gru[("train", "paper")] == paper_value("Chung 2014", "jsb", "rnn", "gru", "train")
    assert gru[("train", "Δ per frame")] == pytest.approx(7.70 - gru[("train", "paper")])
    assert gru[("test", "Δ per piece")] == pytest.approx(8.44 - paper_value("Chung 2014", "jsb", "rnn", "gru"))
    assert gru[("run", "best lr")] == "0.0015"
    assert set(layout.index.get_level_values("model")) == {"tanh", "GRU", "LSTM (peepholes)"}
    assert len(difference_figure(layout, "t").data) == 4  # two conventions in each of two panels


def test_points_status_is_a_table_of_datasets_by_models_and_one_line():
    planned = ["jsb/rnn/seed=0", "jsb/dts/seed=0", "musedata/rnn/seed=0"]
    table = pd.DataFrame([published("jsb", "rnn", "tanh", 8.3, 8.3, point="jsb/rnn/seed=0"),
                          published("jsb", "rnn", "tanh", 8.4, 8.4, point="jsb/rnn-literal/seed=0")])
    status, line = points_status(planned, table)
    assert status.to_dict("index") == {"jsb": {"rnn": "ok, 30 epochs", "dts": "not published"},
                                       "musedata": {"rnn": "not published", "dts": ""}}
    assert line == "1 of 3 planned points published; published variants outside the spec: jsb/rnn-literal/seed=0"
    assert points_status(planned, pd.DataFrame(columns=list(COLUMNS)))[1] == "0 of 3 planned points published"


def test_jozefowicz_table1_beside_ours_and_each_cell_against_the_lstm():
    cells = ["tanh", "lstm", "gru"]
    ours = pd.DataFrame([{"cell": c, "task": t, "best": b, "mean": b - 0.1}
                         for c, b in zip(cells, (0.3, 0.35, 0.38), strict=True) for t in ("arithmetic", "xml")])
    side = table1_beside_paper(ours, cells)
    paper = paper_results()
    paper_gru = paper[(paper.table == "Table 1") & (paper.cell == "gru") & (paper.dataset == "xml")].value.iloc[0]
    assert side.at["gru", ("xml", "paper")] == paper_gru
    assert side.at["gru", ("xml", "Δ best")] == pytest.approx(0.38 - paper_gru)
    figure = relative_to_figure(side)
    ours_arith = next(t for t in figure.data if t.name == "ours (search scale)")
    assert list(ours_arith.x) == pytest.approx([0.3 - 0.35, 0.0, 0.38 - 0.35])


def test_orderings_keep_the_papers_check_apart_from_ours():
    cells = sorted({c for claim in JOZEFOWICZ_ORDERINGS for c in (claim[0], claim[2])})
    ours = pd.DataFrame([{"cell": c, "task": t, "best": 0.5, "mean": 0.4} for c in cells
                         for t in ("arithmetic", "xml")])
    side = table1_beside_paper(ours, cells)
    checks = pd.DataFrame([{"claim": f"{a} {op} {b}", "task": task, "best_left": 0.5, "best_right": 0.4,
                            "holds": True, "best_diff_lo": 0.01, "best_diff_hi": 0.2, "wins": 30, "losses": 9,
                            "ties": 1, "sign_p": 0.001} for a, op, b in JOZEFOWICZ_ORDERINGS
                           for task in ("arithmetic", "xml")])
    table = orderings_beside_paper(side.xs("paper", axis=1, level=1), checks, JOZEFOWICZ_ORDERINGS)
    assert len(table) == 16
    assert list(dict.fromkeys(table.columns.get_level_values(0))) == [
        "paper's Table 1", "ours: best of the settings", "ours: setting by setting"]
    assert table[("paper's Table 1", "holds")].all()  # the paper's own numbers: a check of the transcription
    assert table[("ours: setting by setting", "won–lost–tied")].iloc[0] == "30–9–1"


def test_the_probe_table_is_narrow_and_keeps_every_digit_of_the_rate():
    view = pd.DataFrame([{"dataset": "musedata", "cell": "lstm_peephole", "run": "best draw: musedata/lstm/lr=0.00173",
                          "lr": 0.00173, "forget_bias": float("nan"), "epochs_run": 146, "best_epoch": 136,
                          "best_valid": 9.0, "test_nll": 8.86, "test_nll_pieces": 8.17, "train_nll": 8.9,
                          "valid_vs_best": 0.0, "test_vs_best": 0.0}])
    probe = compact_probe(view)
    assert probe.index[0] == ("musedata", "best lstm_peephole draw")
    assert probe.iloc[0]["lr"] == "0.00173" and probe.iloc[0]["epochs (best/run)"] == "136/146"
    assert len(probe.columns) == 10
