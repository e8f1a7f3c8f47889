"""The trainer: exact resumption after kill -9, divergence, determinism, atomic run records, knob validation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from rnnlab.errors import RnnlabError
from rnnlab.train import TrainConfig, smoke_overrides
from rnnlab.train.portable import ABSOLUTE_PATH
from rnnlab.train.runs import load, load_metrics
from rnnlab.train.trainer import Trainer

TIMING_COLUMNS = ["epoch_seconds", "wall_seconds", "tokens_per_s"]
SMALL = dict(dataset="arithmetic", arch="rnn", cell="gru", hidden=24, batch_size=8, bptt=None, epochs=5,
             max_updates_per_epoch=12, max_eval_sequences=32, optimizer="adam", lr=3e-3, patience=10,
             task_knobs={"n_train": 256, "n_valid": 32, "n_test": 32, "max_digits": 3})


def _metrics_without_time(run_dir) -> pd.DataFrame:
    return load_metrics(run_dir).drop(columns=TIMING_COLUMNS)


def test_same_seed_gives_bit_identical_runs_on_cpu(run_root):
    a = Trainer(TrainConfig(**SMALL, device="cpu"), root=run_root, progress=False).fit()
    b = Trainer(TrainConfig(**SMALL, device="cpu"), root=run_root, progress=False).fit()
    pd.testing.assert_frame_equal(_metrics_without_time(a["run_dir"]), _metrics_without_time(b["run_dir"]))
    assert a["test"] == b["test"] and a["status"] == "ok"


def test_run_record_is_complete(run_root):
    summary = Trainer(TrainConfig(**SMALL, device="cpu"), root=run_root, progress=False).fit()
    run_dir = Path(summary["run_dir"])
    for name in ("config.json", "metrics.csv", "updates.csv", "summary.json", "checkpoints/last.pt",
                 "checkpoints/best.pt"):
        assert (run_dir / name).exists(), name
    on_disk = json.loads((run_dir / "summary.json").read_text())
    for key in ("dataset", "data_source", "arch", "cell", "sizes", "n_params", "epochs_run", "best_valid", "test",
                "wall_seconds", "status", "seed", "device", "rnnlab_version"):
        assert key in on_disk, key
    assert on_disk["test"]["accuracy"] == summary["test"]["accuracy"]
    metrics = load_metrics(run_dir)
    for column in ("train_loss", "valid_metric", "lr", "grad_norm_mean", "clip_events", "wall_seconds",
                   "tokens_per_s"):
        assert column in metrics.columns
    assert len(metrics) == summary["epochs_run"] == 5
    assert len(load_metrics(run_dir, "updates")) == summary["updates"] == 60
    assert json.loads((run_dir / "config.json").read_text())["hidden"] == 24
    # the record names no machine: no host, no folder, no absolute path in any of its text files
    assert not {"host", "run_dir"} & set(on_disk) and summary["run_dir"] == str(run_dir)  # the caller is told
    for name in ("config.json", "summary.json", "run.log", "metrics.csv"):
        assert not ABSOLUTE_PATH.search((run_dir / name).read_text()), name
    assert on_disk["tokens_per_s"] == pytest.approx(
        (metrics.tokens_per_s * metrics.epoch_seconds).sum() / metrics.epoch_seconds.sum())  # the run's average


@pytest.mark.slow
def test_kill_9_then_resume_ends_with_exactly_the_uninterrupted_metrics(run_root):
    reference = Trainer(TrainConfig(**SMALL, device="cpu"), root=run_root, progress=False).fit()
    run_dir = run_root / "killed"
    knobs = {k: v for k, v in SMALL.items() if k != "task_knobs"}
    command = [sys.executable, "-m", "rnnlab.cli", "train", "--run-dir", str(run_dir), "--device", "cpu", "--quiet",
               "--task-knobs", json.dumps(SMALL["task_knobs"])]
    for key, value in knobs.items():
        command += ["--" + key.replace("_", "-"), str(value)]
    env = {**os.environ, "RNNLAB_TEST_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        metrics = run_dir / "metrics.csv"
        if metrics.exists() and len(pd.read_csv(metrics)) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed: " + proc.stderr.read().decode()[-500:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "summary.json").exists()
    resumed = Trainer(TrainConfig(**SMALL, device="cpu"), run_dir=run_dir, resume=True, progress=False).fit()
    pd.testing.assert_frame_equal(_metrics_without_time(run_dir), _metrics_without_time(reference["run_dir"]))
    assert resumed["test"] == reference["test"]
    assert resumed["best_valid"] == reference["best_valid"]


def test_nan_loss_marks_the_run_diverged_and_nothing_else_breaks(run_root, capsys):
    config = TrainConfig(**{**SMALL, "optimizer": "sgd", "lr": 1e38, "clip": None, "epochs": 3}, device="cpu")
    summary = Trainer(config, root=run_root, progress=False).fit()
    assert summary["status"] == "diverged"
    assert "DIVERGED" in capsys.readouterr().out
    assert json.loads((Path(summary["run_dir"]) / "summary.json").read_text())["status"] == "diverged"
    after = Trainer(TrainConfig(**{**SMALL, "epochs": 1}, device="cpu"), root=run_root, progress=False).fit()
    assert after["status"] == "ok"
    assert sorted(load(run_root).status) == ["diverged", "ok"]


def test_two_runs_writing_into_one_root_do_not_corrupt_each_other(run_root):
    summaries = []

    def one(seed):
        config = TrainConfig(**{**SMALL, "epochs": 2}, seed=seed, device="cpu")
        summaries.append(Trainer(config, root=run_root, progress=False).fit())

    threads = [threading.Thread(target=one, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    table = load(run_root)
    assert len(table) == 2 and set(table.seed) == {1, 2} and (table.status == "ok").all()
    assert len({s["run_dir"] for s in summaries}) == 2
    assert not list(run_root.glob("**/*.tmp"))


@pytest.mark.parametrize(
    "knobs, fragment",
    [
        ({"arch": "deep-rnn"}, "'deep-rnn'"),
        ({"cell": "lstmx"}, "'lstmx'"),
        ({"dataset": "mnist"}, "'mnist'"),
        ({"optimizer": "adagrad"}, "'adagrad'"),
        ({"hidden": 0}, "hidden"),
        ({"lr": -1.0}, "lr"),
        ({"dropout": 1.5}, "dropout"),
        ({"schedule": "cosine"}, "'cosine'"),
        ({"forget_bias": 1.0, "cell": "gru"}, "forget_bias"),
    ],
)
def test_bad_knobs_fail_up_front_with_one_clear_line(knobs, fragment):
    with pytest.raises(RnnlabError) as err:
        TrainConfig(**knobs).validate()
    message = str(err.value)
    assert fragment in message and "\n" not in message


def test_unknown_knob_names_the_valid_ones():
    with pytest.raises(RnnlabError, match="unknown training knob.*hiden.*valid knobs"):
        TrainConfig.from_dict({"hiden": 3})


def test_existing_run_dir_is_not_overwritten_without_resume(run_root):
    summary = Trainer(TrainConfig(**{**SMALL, "epochs": 1}, device="cpu"), root=run_root, progress=False).fit()
    with pytest.raises(RnnlabError, match="already holds a run"):
        Trainer(TrainConfig(**SMALL, device="cpu"), run_dir=summary["run_dir"], progress=False)


def test_smoke_overrides_shrink_everything():
    small = smoke_overrides(TrainConfig(hidden=600, epochs=200, batch_size=64, bptt=200))
    assert (small.hidden, small.epochs, small.batch_size, small.bptt, small.max_updates_per_epoch) == (16, 2, 4, 20, 3)
