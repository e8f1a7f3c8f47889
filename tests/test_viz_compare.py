"""The comparison dashboard's pure functions over a hand-written run store (independent of the trainer)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from rnnlab.data import data_family
from rnnlab.errors import RnnlabError
from rnnlab.train.runs import load
from rnnlab.viz.compare import (
    MAX_DRAWN,
    compare_curves,
    describe_store,
    filter_options,
    filter_runs,
    pick_runs,
    results_beside_papers,
    results_figure,
    run_labels,
    unit_label,
)


def write_run(root: Path, name: str, dataset: str, arch: str, cell: str, source: str, test_nll: float,
              hidden: int = 32, epochs: int = 3) -> Path:
    run = root / name
    run.mkdir(parents=True)
    summary = {"dataset": dataset, "data_source": source, "arch": arch, "cell": cell, "metric": "nll",
               "sizes": {"hidden": hidden}, "n_params": 1000, "status": "ok", "epochs_run": epochs,
               "best_valid": test_nll + 0.1, "test": {"nats": test_nll, "nll": test_nll}, "wall_seconds": 12.0}
    (run / "summary.json").write_text(json.dumps(summary))
    updates = pd.DataFrame({"update": np.arange(1, 11), "epoch": np.repeat([1, 2], 5), "loss": np.linspace(20, 9, 10),
                            "grad_norm": 1.0, "clipped": False, "lr": 1e-3, "wall_seconds": np.arange(1, 11) * 0.5})
    updates.to_csv(run / "updates.csv", index=False)
    metrics = pd.DataFrame({"epoch": [1, 2], "updates": [5, 10], "train_loss": [15.0, 10.0],
                            "valid_metric": [test_nll + 1, test_nll + 0.1], "wall_seconds": [2.5, 5.0]})
    metrics.to_csv(run / "metrics.csv", index=False)
    return run


@pytest.fixture()
def store(tmp_path) -> Path:
    root = tmp_path / "runs"
    write_run(root, "a", "jsb", "rnn", "tanh", "canonical:/data/JSB Chorales.pickle", 8.5)
    write_run(root, "b", "jsb", "dts-rnn", "tanh", "music21 stand-in (bach-music21)", 8.9)
    write_run(root, "c", "bach-music21", "rnn", "gru", "music21 stand-in (bach-music21)", 7.0)
    write_run(root, "d", "bach-music21", "rnn", "gru", "music21 stand-in (bach-music21)", 7.2)
    return root


def test_filters_select_exactly_the_matching_runs(store):
    runs = load(store)
    assert filter_options(runs, "dataset") == ["all", "bach-music21", "jsb"]
    assert len(filter_runs(runs, dataset="jsb")) == 2
    assert len(filter_runs(runs, dataset="all", cell="gru")) == 2
    assert len(filter_runs(runs, dataset="jsb", cell="gru")) == 0
    assert set(filter_runs(runs, arch="dts-rnn")["run_dir"]) == {str(store / "b")}
    with pytest.raises(RnnlabError, match="cannot filter runs by hidden; valid filters: data, dataset, arch"):
        filter_runs(runs, hidden=3)


def test_labels_are_unique_for_repeated_settings_and_name_the_stand_in(store):
    labels = run_labels(load(store))
    assert len(set(labels.values())) == 4
    assert labels[str(store / "d")] == "rnn/gru h32 bach-music21 #2"
    assert labels[str(store / "a")] == "rnn/tanh h32 jsb"
    assert labels[str(store / "b")] == "dts-rnn/tanh h32 jsb (stand-in)"


def test_data_families_separate_canonical_files_from_stand_ins(store):
    runs = load(store)
    assert filter_options(runs, "data") == ["all", "canonical jsb", "music21 stand-in (bach-music21)"]
    assert set(filter_runs(runs, data="canonical jsb")["run_dir"]) == {str(store / "a")}
    assert len(filter_runs(runs, data="music21 stand-in (bach-music21)")) == 3
    assert data_family({"dataset": "arithmetic", "data_source": "generated seed=0"}) == "generated arithmetic"


def test_old_and_portable_data_texts_are_one_family_in_the_dashboard(tmp_path):
    # records written before they named no machine say "canonical:<path>"; new ones "canonical jsb (<file>)"
    root = tmp_path / "runs"
    write_run(root, "old", "jsb", "rnn", "tanh", "canonical:/work/shared/data/polyphonic/JSB Chorales.pickle", 8.5)
    write_run(root, "new", "jsb", "rnn", "gru", "canonical jsb (polyphonic/JSB Chorales.pickle)", 8.4)
    write_run(root, "nott", "nottingham", "rnn", "gru", "canonical nottingham (polyphonic/derived/Nottingham.pickle)",
              3.1)
    runs = load(root)
    assert filter_options(runs, "data") == ["all", "canonical jsb", "canonical nottingham"]
    assert set(filter_runs(runs, data="canonical jsb")["run_dir"]) == {str(root / "old"), str(root / "new")}
    labels = run_labels(runs)
    assert labels[str(root / "new")] == "rnn/gru h32 jsb" and labels[str(root / "old")] == "rnn/tanh h32 jsb"
    table = results_beside_papers(runs)
    jsb = table[table.dataset == "jsb"]
    assert len(jsb) >= 2 and jsb.comparable.all()  # canonical data, old text or new


def test_curves_overlay_the_stored_numbers(store):
    runs = filter_runs(load(store), dataset="bach-music21")
    fig = compare_curves(runs, smooth=1)
    names = {t.name for t in fig.data}
    assert names == {"rnn/gru h32 bach-music21 train (nats)", "rnn/gru h32 bach-music21 valid (nll)",
                     "rnn/gru h32 bach-music21 #2 train (nats)", "rnn/gru h32 bach-music21 #2 valid (nll)"}
    valid = [t for t in fig.data if t.name == "rnn/gru h32 bach-music21 valid (nll)"]
    per_update, per_second = valid
    stored = pd.read_csv(store / "c" / "metrics.csv")
    assert list(per_update.x) == stored["updates"].tolist() and list(per_update.y) == stored["valid_metric"].tolist()
    assert list(per_second.x) == stored["wall_seconds"].tolist()
    train = next(t for t in fig.data if t.name == "rnn/gru h32 bach-music21 train (nats)")
    assert np.allclose(train.y, pd.read_csv(store / "c" / "updates.csv")["loss"])


def test_empty_store_says_so(tmp_path):
    runs = load(tmp_path / "nothing")
    assert runs.empty
    assert "is empty" in describe_store(runs, tmp_path / "nothing")
    assert "no runs match" in compare_curves(runs).layout.annotations[0].text
    assert results_beside_papers(runs).empty
    assert "no finished runs" in results_figure(results_beside_papers(runs)).layout.annotations[0].text


def test_results_put_the_papers_numbers_beside_ours(store):
    table = results_beside_papers(load(store))
    canonical = table[table.run_dir == str(store / "a")]
    # Pascanu Table 2 (RNN, JSB 8.338) and Chung Table 2 (tanh, JSB test 9.10) both report a tanh RNN on JSB
    assert sorted(canonical["paper_value"]) == [8.338, 9.10]
    assert canonical["comparable"].all()
    assert sorted(canonical["test_minus_paper"].round(3)) == [round(8.5 - 9.10, 3), round(8.5 - 8.338, 3)]
    fallback = table[table.run_dir == str(store / "b")]  # asked for jsb, trained on the stand-in
    assert fallback["paper_value"].tolist() == [8.278] and not fallback["comparable"].any()
    assert fallback["test_minus_paper"].isna().all()
    assert "other data" in fallback["paper"].iloc[0]
    stand_in = table[table.run_dir == str(store / "c")]  # bach-music21 GRU: Chung's GRU on JSB (8.54) as reference
    assert stand_in["paper_value"].tolist() == [8.54] and not stand_in["comparable"].any()
    fig = results_figure(table)
    ours = next(t for t in fig.data if t.name == "ours (test)")
    assert sorted(ours.x) == [7.0, 7.2, 8.5, 8.9]


def test_dashboard_follows_its_dropdowns(store):
    from rnnlab.viz.compare_widget import compare_dashboard

    box = compare_dashboard(store)
    controls, _, summary, curves, results, table = box.children
    data, dataset = controls.children[:2]
    assert list(data.options) == ["all", "canonical jsb", "music21 stand-in (bach-music21)"]
    assert list(dataset.options) == ["all", "bach-music21", "jsb"]
    assert summary.value.startswith("<b>4</b>")
    dataset.value = "bach-music21"
    assert summary.value.startswith("<b>2</b>")
    assert {t.name for t in shown(curves).data} == {t.name for t in compare_curves(filter_runs(
        load(store), dataset="bach-music21")).data}
    ours = next(t for t in shown(results).data if t.name == "ours (test)")
    assert sorted(ours.x) == [7.0, 7.2]
    assert "rnn/gru h32 bach-music21 #2" in table.value and "rnn/tanh h32 jsb" not in table.value
    dataset.value = "all"
    data.value = "music21 stand-in (bach-music21)"  # the stand-in runs, including the one that asked for jsb
    assert summary.value.startswith("<b>3</b>")


def write_config(run: Path, **knobs) -> None:
    (run / "config.json").write_text(json.dumps({"lr": 1e-3, "seed": 0, "optimizer": "adam", "device": "cpu",
                                                 "nonlinearity": "tanh", **knobs}))


def test_labels_name_the_knob_that_differs_and_the_unit_that_ran(tmp_path):
    root = tmp_path / "runs"
    for name, lr, seed in (("a", 1.5e-3, 0), ("b", 3.58e-4, 0), ("c", 1.5e-3, 1)):
        write_config(write_run(root, name, "jsb", "rnn", "gru", "canonical jsb (x)", 8.5), lr=lr, seed=seed)
    write_config(write_run(root, "logistic", "jsb", "rnn", "tanh", "canonical jsb (x)", 8.3, hidden=200),
                 nonlinearity="sigmoid")
    write_config(write_run(root, "plain", "jsb", "rnn", "tanh", "canonical jsb (x)", 8.6, hidden=100))
    labels = run_labels(load(root))
    assert labels[str(root / "a")] == "rnn/gru h32 jsb · lr 0.0015, seed 0"
    assert labels[str(root / "b")] == "rnn/gru h32 jsb · lr 0.000358, seed 0"
    assert labels[str(root / "c")] == "rnn/gru h32 jsb · lr 0.0015, seed 1"
    assert labels[str(root / "logistic")] == "rnn/logistic h200 jsb"  # a tanh cell with sigmoid units
    assert labels[str(root / "plain")] == "rnn/tanh h100 jsb"
    assert unit_label("tanh", "relu") == "relu" and unit_label("gru", "sigmoid") == "gru"


def test_many_runs_are_drawn_a_page_at_a_time_and_the_title_says_which(tmp_path):
    root = tmp_path / "runs"
    for i in range(25):
        write_config(write_run(root, f"r{i:02d}", "jsb", "rnn", "gru", "canonical jsb (x)", 8.0 + i / 100),
                     lr=1e-4 * (i + 1))
    write_run(root, "tanh", "jsb", "rnn", "tanh", "canonical jsb (x)", 9.0)
    runs = load(root)
    first, line = pick_runs(runs)
    assert len(first) == MAX_DRAWN and line == "runs 1–10 of 26 drawn (lowest best validation first; page 1 of 3)"
    assert list(first.best_valid.round(2)) == [round(8.1 + i / 100, 2) for i in range(10)]
    last, line = pick_runs(runs, page=7)  # clipped to the last page
    assert len(last) == 6 and line.startswith("runs 21–26 of 26") and last.best_valid.max() == 9.1
    best, line = pick_runs(runs, best_of_each=True)
    assert len(best) == 2 and "the best of each of 2 models (of 26 runs)" in line
    assert sorted(best.best_valid.round(2)) == [8.1, 9.1]
    fig = compare_curves(runs)
    assert len({t.legendgroup for t in fig.data}) == MAX_DRAWN
    assert fig.layout.title.text == "26 runs: runs 1–10 of 26 drawn (lowest best validation first; page 1 of 3)"


def shown(box) -> go.Figure:
    """The figure a dashboard's output box shows (plotly's JSON, as a static figure in a notebook)."""
    from tests.notebook_checks import _array  # plotly's typed-array encoding back to numbers

    (output,) = box.outputs
    figure = output["data"]["application/vnd.plotly.v1+json"]
    data = [{k: (_array(v) if isinstance(v, dict) and "bdata" in v else v) for k, v in trace.items()}
            for trace in figure["data"]]
    return go.Figure(data=data, layout=figure["layout"])


def test_each_redraw_shows_the_whole_new_figure(store):
    from rnnlab.viz.compare_widget import compare_dashboard

    box = compare_dashboard(store, dataset="nothing-such")  # an unknown value is ignored: all runs
    _, _, _, curves, results, _ = box.children
    first = shown(results)
    assert [t.name for t in first.data][0] == "ours (test)" and not first.layout.annotations
    dataset, cell = box.children[0].children[1], box.children[0].children[3]
    dataset.value, cell.value = "jsb", "gru"  # no run matches
    assert shown(results).layout.annotations[0].text == "no finished runs to tabulate"
    cell.value = "all"
    fresh = shown(results)
    assert not fresh.layout.annotations and fresh.layout.yaxis.visible is None
    assert [t.name for t in fresh.data][0] == "ours (test)" and sorted(fresh.data[0].x) == [8.5, 8.9]


def test_dashboard_pages_through_many_runs(tmp_path):
    from rnnlab.viz.compare_widget import compare_dashboard

    root = tmp_path / "runs"
    for i in range(23):
        write_config(write_run(root, f"r{i:02d}", "jsb", "rnn", "gru", "canonical jsb (x)", 8.0 + i / 100),
                     lr=1e-4 * (i + 1))
    box = compare_dashboard(root)
    _, paging, summary, curves, results, table = box.children
    draw, page, _ = paging.children
    assert [label for label, _ in page.options] == ["runs 1–10 of 23", "runs 11–20 of 23", "runs 21–23 of 23"]
    assert "runs 1–10 of 23 drawn" in summary.value and table.value.count("<tr>") == 10
    assert len({t.legendgroup for t in shown(curves).data}) == 10
    page.value = 2
    assert "runs 21–23 of 23 drawn" in summary.value and table.value.count("<tr>") == 3
    assert sorted(next(t for t in shown(results).data if t.name == "ours (test)").x) == [8.2, 8.21, 8.22]
    assert shown(curves).layout.title.text.startswith("Runs 21–23 of 23")
    draw.value = "best of each model"
    assert page.value == 0 and len(page.options) == 1 and table.value.count("<tr>") == 1
