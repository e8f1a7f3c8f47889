"""train_pairs: several arch/cell pairs, one dataset, one budget; rows and run folders back; bad input refused early."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.train.callbacks import GradNormRecorder
from rnnlab.train.pairs import PairRun, pair_configs, pairs_table, train_pairs

TASK = {"n_train": 64, "n_valid": 16, "n_test": 16, "max_digits": 2}
TINY = dict(hidden=8, epochs=2, batch_size=8, bptt=None, max_updates_per_epoch=3, max_eval_sequences=16, lr=3e-3,
            device="cpu", task_knobs=TASK)


def test_trains_every_pair_and_returns_rows_and_run_folders(run_root):
    runs = train_pairs(["rnn/tanh", "dts-rnn/gru"], "arithmetic", runs_root=run_root, seed=3,
                       callbacks=lambda pair: [GradNormRecorder()], **TINY)
    assert list(runs) == ["rnn/tanh", "dts-rnn/gru"]
    table = pairs_table(runs)
    assert table["model"].tolist() == ["rnn/tanh", "dts-rnn/gru"]
    assert table["arch"].tolist() == ["rnn", "dts-rnn"] and table["cell"].tolist() == ["tanh", "gru"]
    assert (table["status"] == "ok").all() and (table["updates"] == 6).all() and (table["epochs"] == 2).all()
    assert {"parameters", "clip events", "train seconds", "best valid accuracy", "test accuracy"} <= set(table)
    run_dirs = [Path(d) for d in table["run_dir"]]
    assert len(set(run_dirs)) == 2 and all(d.parent == run_root for d in run_dirs)
    for (pair, run), run_dir in zip(runs.items(), run_dirs, strict=True):
        assert isinstance(run, PairRun) and run.run_dir == run_dir
        config = json.loads((run_dir / "config.json").read_text())
        assert f"{config['arch']}/{config['cell']}" == pair
        assert config["seed"] == 3 and config["hidden"] == 8 and config["dataset"] == "arithmetic"
        assert json.loads((run_dir / "summary.json").read_text())["status"] == "ok"
        assert (run_dir / "checkpoints" / "best.pt").is_file()
        assert isinstance(run.model, torch.nn.Module)
        (recorder,) = run.callbacks  # one fresh recorder per run, filled by that run only
        assert {row["update"] for row in recorder.rows} == set(range(1, 7))
    assert runs["rnn/tanh"].callbacks[0] is not runs["dts-rnn/gru"].callbacks[0]
    assert pairs_table(runs, ["model", "status"]).columns.tolist() == ["model", "status"]


def test_labels_data_and_smoke(run_root):
    from rnnlab.data import load_dataset

    data = load_dataset("arithmetic", seed=0, **TASK)
    runs = train_pairs({"plain": "rnn/tanh"}, "arithmetic", data=data, runs_root=run_root, smoke=True,
                       **{**TINY, "hidden": 32, "max_updates_per_epoch": 10})
    run = runs["plain"]
    assert run.config.hidden == 16 and run.config.max_updates_per_epoch == 3  # smoke_overrides applied
    assert pairs_table(runs)["model"].tolist() == ["plain"] and run.summary["updates"] == 6


@pytest.mark.parametrize("pairs, knobs, words", [
    (["rnn/tanh", "rnn/lstn"], {}, ["'rnn/lstn'", "cell 'lstn'", "valid choices", "lstm", "gru"]),
    (["rnn/tanh", "deep/tanh"], {}, ["'deep/tanh'", "arch 'deep'", "valid choices", "dts-rnn"]),
    (["rnn/tanh", "rnn-lstm"], {}, ["'arch/cell'", "'rnn-lstm'"]),
    (["rnn/tanh", "rnn/tanh"], {}, ["rnn/tanh", "twice"]),
    ([], {}, ["empty"]),
    (["rnn/tanh"], {"arch": "rnn"}, ["'arch'", "set by train_pairs"]),
    (["rnn/tanh"], {"hiden": 8}, ["hiden", "valid knobs", "hidden"]),
    (["rnn/tanh", "rnn/gru"], {"hidden": 0}, ["hidden", ">= 1"]),
])
def test_a_bad_pair_or_knob_is_one_clear_error_before_anything_is_written(tmp_path, pairs, knobs, words):
    root = tmp_path / "runs"
    with pytest.raises(RnnlabError) as err:
        train_pairs(pairs, "arithmetic", runs_root=root, **{**TINY, **knobs})
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)
    assert not root.exists(), "nothing may be written before every pair is known good"


def test_pair_configs_are_validated_configs():
    configs = pair_configs({"a": "rnn/gru", "b": "dot-rnn/tanh"}, "arithmetic", seed=5, **TINY)
    assert [(c.arch, c.cell, c.seed, c.hidden) for c in configs.values()] == [("rnn", "gru", 5, 8),
                                                                               ("dot-rnn", "tanh", 5, 8)]
