"""The second-stage rule of ``rnnlab extend`` (rnnlab.campaigns.extend): extend only draws stopped by the cap while
still improving and close to their model's best draw."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnlab.campaigns import extend as extend_draws
from rnnlab.cli import main as rnnlab
from tests.conftest import PROJECT_ROOT, alive, parent_pid, trainer_after_one_epoch


def row(point, best_valid, epochs_run=200, best_epoch=200, status="ok"):
    return {"run": Path(point), "point": point, "group": point.rsplit("/", 1)[0], "status": status, "epochs": 200,
            "patience": 10, "epochs_run": epochs_run, "best_epoch": best_epoch, "best_valid": best_valid}


def test_only_capped_improving_and_close_draws_are_extended():
    rows = [
        row("jsb/gru/lr=a", 8.39, best_epoch=198),                   # the best, capped, improving: extended
        row("jsb/gru/lr=b", 8.50, epochs_run=150, best_epoch=140),   # early-stopped: left alone
        row("jsb/gru/lr=c", 9.20, best_epoch=200),                   # capped, improving, 0.81 behind: extended
        row("jsb/gru/lr=d", 9.60, best_epoch=200),                   # 1.21 behind the best: left alone
        row("jsb/gru/lr=e", 8.45, best_epoch=185),                   # capped but stalled 15 > patience: left alone
        row("jsb/gru/lr=f", float("nan"), status="diverged"),        # diverged: left alone
        row("jsb/tanh/lr=a", 8.90, best_epoch=199),                  # its own group's best: extended
    ]
    chosen = extend_draws.to_extend(rows, within=1.0, epochs=1000)
    assert [r["point"] for r in chosen] == ["jsb/gru/lr=a", "jsb/tanh/lr=a", "jsb/gru/lr=c"]
    assert [round(r["gap"], 2) for r in chosen] == [0.0, 0.0, 0.81]
    assert extend_draws.to_extend(rows, within=1.0, epochs=200) == []  # a cap no larger extends nothing


def test_a_narrow_pattern_measures_the_gap_from_the_whole_groups_best():
    rows = [row("musedata/gru/lr=big", 7.23, epochs_run=118, best_epoch=108),  # the group's best, early-stopped
            row("musedata/gru/lr=mid", 7.34), row("musedata/gru/lr=tiny", 10.10)]
    # naming one draw must not make it its own group's best: lr=tiny is 2.87 behind and stays left alone
    assert extend_draws.to_extend(rows, within=1.0, epochs=1000, pattern="musedata/gru/lr=tiny") == []
    chosen = extend_draws.to_extend(rows, within=1.0, epochs=1000, pattern="musedata/gru/lr=m*")
    assert [(r["point"], round(r["gap"], 2)) for r in chosen] == [("musedata/gru/lr=mid", 0.11)]
    assert extend_draws.to_extend(rows, within=1.0, epochs=1000, pattern="jsb/*") == []


def test_an_extension_killed_before_its_new_cap_is_chosen_again():
    # the config already says 1000 (the extension wrote it), the summary still says the first stage's 200 epochs
    killed = {**row("pianomidi/lstm/lr=a", 9.96, best_epoch=200), "epochs": 1000}
    done = {**row("pianomidi/lstm/lr=b", 9.50, epochs_run=640, best_epoch=630), "epochs": 1000}  # stopped early
    chosen = extend_draws.to_extend([killed, done], within=1.0, epochs=1000)
    assert [r["point"] for r in chosen] == ["pianomidi/lstm/lr=a"]


def test_draws_reads_the_run_store(tmp_path):
    import json

    run = tmp_path / "jsb" / "gru" / "lr=0.001"
    run.mkdir(parents=True)
    from rnnlab.train import TrainConfig

    (run / "config.json").write_text(TrainConfig(dataset="jsb", cell="gru", epochs=200, patience=10).to_json())
    (run / "summary.json").write_text(json.dumps({"status": "ok", "epochs_run": 200, "best_epoch": 199,
                                                  "best_valid": 8.4}))
    rows = extend_draws.draws(tmp_path)
    assert [(r["point"], r["group"], r["best_epoch"], r["epochs"], r["patience"], r["run"]) for r in rows] == [
        ("jsb/gru/lr=0.001", "jsb/gru", 199, 200, 10, run)]
    assert extend_draws.to_extend(rows, within=1.0, epochs=1000, pattern="nottingham/*") == []


@pytest.mark.slow
def test_an_extension_runs_with_no_rnnlab_on_path(tmp_path, monkeypatch):
    # A finished (capped) run extended from 2 to 3 epochs by this interpreter, with PATH holding no `rnnlab`: the
    # extension must not depend on how the caller's shell was set up (a bare `rnnlab` once failed exactly so).
    from rnnlab.train import TrainConfig
    from rnnlab.train.runs import load_metrics, read_config
    from rnnlab.train.trainer import Trainer

    run = tmp_path / "arithmetic" / "lstm" / "seed=0"
    task = {"n_train": 32, "n_valid": 8, "n_test": 8, "max_digits": 2}
    Trainer(TrainConfig(dataset="arithmetic", cell="lstm", hidden=8, batch_size=8, epochs=2, patience=5,
                        max_updates_per_epoch=2, max_eval_sequences=8, task_knobs=task, seed=0, device="cpu"),
            run_dir=run, progress=False).fit()
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("RNNLAB_SMOKE", raising=False)
    assert extend_draws.extend(run, 3) == (run, 0)
    assert read_config(run).epochs == 3 and len(load_metrics(run)) == 3
    assert (run / "03_train.ipynb").exists()  # the extended run's executed notebook is its record


def test_a_draw_without_a_checkpoint_is_listed_as_such_and_left_out(tmp_path, monkeypatch, capsys):
    # Runs published to results/ keep no last.pt: --run must extend only the draws it can continue, name the others
    # and exit 1, instead of starting a resume that can only fail (or a silent success that extended nothing).
    import json

    from rnnlab.train import TrainConfig

    for point, best_valid, checkpoint in [("jsb/gru/lr=a", 8.40, "last.pt"), ("jsb/gru/lr=b", 8.60, None),
                                          ("jsb/gru/lr=c", 8.70, "previous.pt")]:
        run = tmp_path / point
        (run / "checkpoints").mkdir(parents=True)
        (run / "config.json").write_text(TrainConfig(dataset="jsb", cell="gru", epochs=200, patience=10).to_json())
        (run / "summary.json").write_text(json.dumps({"status": "ok", "epochs_run": 200, "best_epoch": 200,
                                                      "best_valid": best_valid}))
        if checkpoint:
            (run / "checkpoints" / checkpoint).write_bytes(b"")
    extended = []
    monkeypatch.setattr(extend_draws, "extend", lambda run, epochs: extended.append(run.name) or (run, 0))
    assert rnnlab(["extend", str(tmp_path), "--epochs", "1000"]) == 0  # listing only
    listing = capsys.readouterr().out
    assert "lr=b: best valid 8.6000 (+0.200 from its model's best) at epoch 200 of 200 run · no checkpoint" in listing
    assert "lr=a: best valid 8.4000 (+0.000 from its model's best) at epoch 200 of 200 run\n" in listing
    assert "3 draws to extend to 1000 epochs, 1 of them without a checkpoint" in listing
    assert extended == []
    assert rnnlab(["extend", str(tmp_path), "--epochs", "1000", "--engine", "inline", "--run"]) == 1
    assert extended == ["lr=a", "lr=c"]
    assert "left out 1 without a checkpoint" in capsys.readouterr().out


@pytest.mark.slow
def test_a_terminated_extension_stops_its_worker_and_kernel_and_the_rerun_resumes_it(tmp_path):
    # The script used to run each extension as a child process from a thread: `kill PID` ended the script alone and
    # left `rnnlab train --resume` training on, orphaned. Now the pool's worker and its kernel go with the script,
    # and the same command continues the run from its checkpoint to the metrics of an uninterrupted twin.
    from rnnlab.train import TrainConfig
    from rnnlab.train.runs import load_metrics, read_summary
    from rnnlab.train.trainer import Trainer

    def train(run, epochs):  # a validation pass of about a second: a signal after an epoch lands mid-run
        config = TrainConfig(dataset="memorize", arch="rnn", cell="tanh", optimizer="sgd", lr=0.1, clip=1.0,
                             hidden=8, batch_size=4, bptt=20, epochs=epochs, patience=10, max_updates_per_epoch=3,
                             max_eval_sequences=4, task_knobs={"n_symbols": 5000, "n_train": 4, "n_valid": 4,
                                                               "n_test": 4}, seed=0, device="cpu")
        Trainer(config, run_dir=run, progress=False).fit()

    run, twin = tmp_path / "store" / "memorize" / "rnn" / "lr=0.1", tmp_path / "twin"
    train(run, 1)  # the first stage: capped at 1 epoch, still improving
    train(twin, 8)  # the reference: 8 epochs in one go
    command = [sys.executable, "-m", "rnnlab.cli", "extend", str(tmp_path / "store"), "--epochs", "8", "--workers", "1",
               "--run"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("RNNLAB_SMOKE", None)
    first = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    kernel = trainer_after_one_epoch(first, run, epochs=2)  # six epochs (6+ s) left: the signal lands mid-run
    worker = parent_pid(kernel)
    assert worker != first.pid and alive(kernel), "the extension ended before the script could be terminated"
    first.send_signal(signal.SIGTERM)  # the script's own process only, as `kill PID` does
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 130 and "interrupted: run the same command again" in out, out[-3000:]
    deadline = time.time() + 30
    while (alive(worker) or alive(kernel)) and time.time() < deadline:
        time.sleep(0.2)
    assert not alive(worker), "the pool's worker outlived the terminated script"
    assert not alive(kernel), "the kernel outlived the terminated script and still holds the run folder"
    assert len(load_metrics(run)) < 8

    second = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0 and "extended 1, failed 0" in second.stdout, (second.stdout + second.stderr)[-3000:]
    columns = ["epoch", "train_loss", "lr", "grad_norm_mean", "grad_norm_max", "clip_events", "updates",
               "valid_metric", "valid_nats"]
    extended, reference = load_metrics(run), load_metrics(twin)
    assert len(extended) == len(reference) == 8 and extended[columns].equals(reference[columns])
    assert read_summary(run)["best_valid"] == read_summary(twin)["best_valid"]
