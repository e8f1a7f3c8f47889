"""Runs you can trust: one writer per run, resume from the record, safe checkpoints, validation before side effects,
one knob surface, tools that keep going. Kill, concurrency and payload cases use real processes."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from rnnlab.cells import CELLS
from rnnlab.errors import RnnlabError
from rnnlab.nets import ARCHS, build_model
from rnnlab.train import TrainConfig
from rnnlab.train import checkpoints as ckpt
from rnnlab.train.cli import config_for
from rnnlab.train.config import EXTENSIBLE_KNOBS
from rnnlab.train.lock import RunBusyError, RunLock, is_locked
from rnnlab.train.runs import load, load_metrics, read_config
from rnnlab.train.trainer import Trainer
from tests.conftest import PROJECT_ROOT

TIMING = ["epoch_seconds", "wall_seconds", "tokens_per_s"]
TASK = {"n_train": 96, "n_valid": 16, "n_test": 16, "max_digits": 2}
# Deliberately far from the defaults, so a resume that ignored the record could not pass.
KNOBS = dict(dataset="arithmetic", arch="rnn", cell="lstm", forget_bias=0.5, hidden=12, batch_size=8, bptt=None,
             epochs=3, max_updates_per_epoch=6, max_eval_sequences=16, optimizer="sgd", lr=0.5, patience=9,
             init="pascanu", seed=7, device="cpu", task_knobs=TASK)
ENV = {**{k: v for k, v in os.environ.items() if k != "RNNLAB_SMOKE"}, "OMP_NUM_THREADS": "1",
       "RNNLAB_TEST_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def cli_args(knobs: dict) -> list[str]:
    args = []
    for key, value in knobs.items():
        value = json.dumps(value) if isinstance(value, dict) else ("none" if value is None else str(value))
        args += ["--" + key.replace("_", "-"), value]
    return args


def rnnlab(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnlab.cli", *args], capture_output=True, text=True, env=ENV,
                          timeout=timeout, cwd=PROJECT_ROOT)


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_cli(capsys, *args: str) -> Result:
    """``rnnlab ARGS`` in this process (fast); cases that need a real process use ``rnnlab()``."""
    from rnnlab.cli import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got: {stderr!r}"
    assert "Traceback" not in stderr
    return lines[0]


def tree_digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def metrics_without_time(run_dir) -> pd.DataFrame:
    return load_metrics(run_dir).drop(columns=TIMING)


def assert_consistent_record(run_dir: Path) -> None:
    """config, summary, metrics and checkpoints all describe one and the same run."""
    config = read_config(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["seed"], summary["arch"], summary["cell"], summary["dataset"]) == \
        (config.seed, config.arch, config.cell, config.dataset)
    assert summary["sizes"]["hidden"] == config.hidden
    assert len(load_metrics(run_dir)) == summary["epochs_run"]
    assert len(load_metrics(run_dir, "updates")) == summary["updates"]
    state = ckpt.read(run_dir / "checkpoints" / "last.pt", config)
    assert state["epoch"] == summary["epochs_run"]
    assert not list(run_dir.rglob("*.tmp"))


# ------------------------------------------------------------------------------------------ one writer per run
def test_a_second_writer_is_refused_in_one_line_naming_the_holder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with RunLock(run_dir):
        assert is_locked(run_dir)
        result = run_cli(capsys, "train", *cli_args(KNOBS), "--run-dir", str(run_dir), "--quiet")
        assert result.returncode == 2
        line = one_line(result.stderr)
        assert str(run_dir) in line and f"pid {os.getpid()}" in line
        with pytest.raises(RunBusyError):
            Trainer(TrainConfig(**KNOBS), run_dir=run_dir, progress=False)
    assert not is_locked(run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == [".lock"]  # the refused writers wrote nothing


@pytest.mark.slow
def test_two_writers_started_together_leave_one_consistent_record(tmp_path):
    run_dir = tmp_path / "dup"
    command = [sys.executable, "-m", "rnnlab.cli", "train", *cli_args(KNOBS), "--run-dir", str(run_dir), "--quiet"]
    procs = [subprocess.Popen(command + ["--seed", str(seed)], env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "being written by another process" in loser or "already holds a run" in loser
    assert_consistent_record(run_dir)


@pytest.mark.slow
def test_four_workers_on_one_store_leave_no_torn_or_mixed_record(tmp_path):
    root, shared = tmp_path / "store", tmp_path / "store" / "shared"
    script = (
        "import sys, json\n"
        "from rnnlab.train import TrainConfig\n"
        "from rnnlab.train.trainer import Trainer\n"
        "from rnnlab.errors import RnnlabError\n"
        "knobs = json.loads(sys.argv[1]); seed = int(sys.argv[2])\n"
        "try:\n"
        f"    Trainer(TrainConfig(**{{**knobs, 'seed': seed}}), run_dir={str(shared)!r}, progress=False).fit()\n"
        "    print('shared')\n"
        "except RnnlabError as err:\n"
        "    print('refused', err)\n"
        f"Trainer(TrainConfig(**{{**knobs, 'seed': seed}}), root={str(root)!r}, progress=False).fit()\n"
    )
    knobs = {**KNOBS, "epochs": 2}
    procs = [subprocess.Popen([sys.executable, "-c", script, json.dumps(knobs), str(seed)], env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in range(4)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-400:] for _, err in outs]
    assert sum("shared" in out.splitlines() for out, _ in outs) == 1
    table = load(root)
    assert len(table) == 5 and (table.status == "ok").all()
    assert sorted(table[table.run_dir != str(shared)].seed) == [0, 1, 2, 3]
    for run_dir in table.run_dir:
        assert_consistent_record(Path(run_dir))


# ------------------------------------------------------------------------------------------ resume from the record
@pytest.mark.slow
def test_kill_9_then_resume_from_the_record_alone_matches_the_uninterrupted_run(tmp_path):
    reference = Trainer(TrainConfig(**{**KNOBS, "epochs": 4}), root=tmp_path / "ref", progress=False).fit()
    run_dir = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab.cli", "train", *cli_args({**KNOBS, "epochs": 4}),
                             "--run-dir", str(run_dir), "--quiet"], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (run_dir / "metrics.csv").exists() and len(pd.read_csv(run_dir / "metrics.csv")) >= 2:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    result = rnnlab("train", "--resume", "--run-dir", str(run_dir), "--quiet")  # no knob: the record knows them
    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(metrics_without_time(run_dir), metrics_without_time(reference["run_dir"]))
    assert json.loads((run_dir / "summary.json").read_text())["test"] == reference["test"]
    # an epoch's rows are appended before its last.pt is written: a kill between the two resumes from previous.pt
    # (the rows beyond it cut back), a kill after them from last.pt; either way the same run
    assert re.search(r"resumed from (last|previous)\.pt", (run_dir / "run.log").read_text())


def test_resume_refuses_any_knob_that_differs_from_the_record(tmp_path):
    run_dir = tmp_path / "run"
    Trainer(TrainConfig(**KNOBS), run_dir=run_dir, progress=False).fit()
    before = tree_digest(run_dir)
    recorded = read_config(run_dir)
    for field in dataclasses.fields(TrainConfig):
        value = getattr(recorded, field.name)
        other = {int: lambda v: v + 1, float: lambda v: 2 * v + 1.5, str: lambda v: f"{v}x",
                 dict: lambda v: {"n_train": 5}, type(None): lambda v: 3}[type(value)](value)
        if field.name in EXTENSIBLE_KNOBS:
            other = value - 1
        args = argparse.Namespace(resume=True, run_dir=str(run_dir), smoke=False, **{field.name: other})
        with pytest.raises(RnnlabError) as err:
            config_for(args)
        message = str(err.value)
        shown = repr(str(Path(other).resolve())) if field.name == "init_from" else repr(other)  # paths: absolute
        assert f"knob {field.name}:" in message and repr(value) in message and shown in message
    for name, other in (("hidden", 13), ("lr", 0.25), ("seed", 8), ("epochs", 2), ("init", "default")):
        with pytest.raises(RnnlabError, match=f"knob {name}: .*recorded with"):
            Trainer(dataclasses.replace(recorded, **{name: other}), run_dir=run_dir, resume=True, progress=False)
    assert tree_digest(run_dir) == before


def test_resume_extends_epochs_and_patience_and_records_it(tmp_path, capsys):
    run_dir = tmp_path / "run"
    Trainer(TrainConfig(**KNOBS), run_dir=run_dir, progress=False).fit()
    same = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir), "--quiet")
    assert same.returncode == 0 and "already finished" in same.stdout
    result = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir), "--epochs", "5", "--patience", "11",
                     "--quiet")
    assert result.returncode == 0, result.stderr
    assert (read_config(run_dir).epochs, read_config(run_dir).patience) == (5, 11)
    assert len(load_metrics(run_dir)) == 5
    assert "extended epochs 3 -> 5, patience 9 -> 11" in (run_dir / "run.log").read_text()


@pytest.mark.slow
def test_an_extension_killed_midway_resumes_instead_of_reporting_the_old_summary(tmp_path):
    # The first stage's summary.json (epoch 2) outlives a kill during the extension to 8 epochs; a resume must
    # continue from the checkpoint (epoch >= 4), not print "already finished" and keep the stale summary.
    knobs = {**KNOBS, "epochs": 2}
    reference = Trainer(TrainConfig(**knobs), run_dir=tmp_path / "ref", progress=False).fit()
    Trainer(TrainConfig(**{**knobs, "epochs": 8}), run_dir=reference["run_dir"], resume=True, progress=False).fit()
    run_dir = tmp_path / "killed"
    Trainer(TrainConfig(**knobs), run_dir=run_dir, progress=False).fit()
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab.cli", "train", "--resume", "--run-dir", str(run_dir),
                             "--epochs", "8", "--quiet"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if len(pd.read_csv(run_dir / "metrics.csv")) >= 4:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the extension finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads((run_dir / "summary.json").read_text())["epochs_run"] == 2  # the stale first-stage summary
    result = rnnlab("train", "--resume", "--run-dir", str(run_dir), "--quiet")  # the record says 8 epochs now
    assert result.returncode == 0, result.stderr
    assert "already finished" not in result.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["epochs_run"] == 8 and summary["test"] == json.loads(
        (Path(reference["run_dir"]) / "summary.json").read_text())["test"]
    pd.testing.assert_frame_equal(metrics_without_time(run_dir), metrics_without_time(reference["run_dir"]))
    assert "so an extension was interrupted" in (run_dir / "run.log").read_text()


@pytest.mark.parametrize("case", ["missing folder", "no checkpoint", "unreadable config", "no run dir", "smoke",
                                  "finished, checkpoints gone"])
def test_resume_of_nothing_is_one_line_and_creates_nothing(tmp_path, case, capsys):
    run_dir = tmp_path / "run"
    args = ["train", "--resume", "--run-dir", str(run_dir)]
    if case == "no checkpoint":
        run_dir.mkdir()
        (run_dir / "config.json").write_text(TrainConfig(**KNOBS).to_json())
    elif case == "unreadable config":
        run_dir.mkdir()
        (run_dir / "config.json").write_text('{"hidden": 12,')
    elif case == "no run dir":
        args = ["train", "--resume"]
    elif case == "smoke":
        Trainer(TrainConfig(**KNOBS), run_dir=run_dir, progress=False).fit()
        args.append("--smoke")
    elif case == "finished, checkpoints gone":  # a finished run copied from results/: only best.pt at most
        Trainer(TrainConfig(**KNOBS), run_dir=run_dir, progress=False).fit()
        for name in (ckpt.LAST, ckpt.PREVIOUS):
            (run_dir / "checkpoints" / name).unlink(missing_ok=True)
        args += ["--epochs", "5"]
    before = tree_digest(tmp_path)
    result = run_cli(capsys, *args)
    assert result.returncode == 2
    one_line(result.stderr)
    assert tree_digest(tmp_path) == before
    assert run_dir.exists() == (case not in ("missing folder", "no run dir"))
    if case == "finished, checkpoints gone":
        assert "it finished (status 'ok') but its training checkpoints are gone" in result.stderr
    elif case == "no checkpoint":
        assert "killed before its first checkpoint" in result.stderr


# ------------------------------------------------------------------------------------------ safe checkpoints
def _finished_run(tmp_path, name="run", **changes) -> Path:
    run_dir = tmp_path / name
    Trainer(TrainConfig(**{**KNOBS, **changes}), run_dir=run_dir, progress=False).fit()
    return run_dir


@pytest.mark.slow
def test_a_pickle_payload_in_last_pt_is_never_executed(tmp_path):
    run_dir = _finished_run(tmp_path)
    (run_dir / "summary.json").unlink()  # as if killed
    marker = tmp_path / "PAYLOAD_RAN"
    payload = (
        "import os, sys, torch\n"
        "class P:\n"
        "    def __reduce__(self):\n"
        f"        return (os.system, ('touch {marker}',))\n"
        "torch.save({'model': P(), 'meta': {'format': 1}}, sys.argv[1])\n"
    )
    for target in ("last.pt", "previous.pt"):
        subprocess.run([sys.executable, "-c", payload, str(run_dir / "checkpoints" / target)], check=True, env=ENV)
    result = rnnlab("train", "--resume", "--run-dir", str(run_dir))
    assert result.returncode == 2 and not marker.exists()
    assert "refused, not executed" in one_line(result.stderr)
    with pytest.raises(ckpt.CheckpointError):  # and the library never loads a checkpoint unsafely
        ckpt.read(run_dir / "checkpoints" / "previous.pt", read_config(run_dir))
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "random bytes", "empty", "missing"])
def test_a_damaged_last_pt_falls_back_to_previous_and_says_so(tmp_path, damage, capsys):
    run_dir = _finished_run(tmp_path)
    (run_dir / "summary.json").unlink()
    last = run_dir / "checkpoints" / "last.pt"
    data = last.read_bytes()
    if damage == "missing":
        last.unlink()
    else:
        last.write_bytes({"truncated": data[: len(data) // 2], "random bytes": os.urandom(len(data)),
                          "empty": b""}[damage])
    result = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir), "--quiet")
    assert result.returncode == 0, result.stderr
    log = (run_dir / "run.log").read_text()
    assert "previous.pt" in log and "resumed from previous.pt at epoch 2" in log
    assert len(load_metrics(run_dir)) == KNOBS["epochs"]


def test_both_checkpoints_damaged_is_one_line(tmp_path, capsys):
    run_dir = _finished_run(tmp_path)
    (run_dir / "summary.json").unlink()
    for name in ("last.pt", "previous.pt"):
        (run_dir / "checkpoints" / name).write_bytes(os.urandom(300))
    result = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir))
    assert result.returncode == 2 and "previous.pt" in one_line(result.stderr)


@pytest.mark.parametrize("other", [{"hidden": 10}, {"cell": "gru", "forget_bias": None}, {"lr": 0.25}])
def test_a_foreign_checkpoint_is_refused_naming_the_file(tmp_path, other, capsys):
    run_dir = _finished_run(tmp_path)
    foreign = _finished_run(tmp_path, "foreign", **other)
    (run_dir / "summary.json").unlink()
    last = run_dir / "checkpoints" / "last.pt"
    last.write_bytes((foreign / "checkpoints" / "last.pt").read_bytes())
    result = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir))
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert str(last) in line and "another run" in line


def test_checkpoints_load_with_weights_only_and_carry_their_run(tmp_path):
    run_dir = _finished_run(tmp_path)
    for name in ("last.pt", "previous.pt", "best.pt"):
        state = torch.load(run_dir / "checkpoints" / name, weights_only=True)
        assert state["meta"]["config_sha256"] == ckpt.config_fingerprint(read_config(run_dir))
    state = torch.load(run_dir / "checkpoints" / "previous.pt", weights_only=True)
    assert state["epoch"] == KNOBS["epochs"] - 1


# ------------------------------------------------------------------------------------------ validation first
FLOAT_BAD = [float("inf"), float("-inf"), float("nan"), "1.0", True]
INT_BAD = [1.5, True, "3", None]


def _bad_values(field: dataclasses.Field) -> list:
    import typing

    hint = typing.get_type_hints(TrainConfig)[field.name]
    args = typing.get_args(hint)
    base = next(a for a in args if a is not type(None)) if args else hint
    optional = type(None) in args
    bad = {float: FLOAT_BAD, int: INT_BAD, str: [3, None, b"x"], dict: [[], "x", None]}[base]
    return [v for v in bad if not (optional and v is None)]


@pytest.mark.parametrize("field", dataclasses.fields(TrainConfig), ids=lambda f: f.name)
def test_every_knob_refuses_values_of_the_wrong_type_or_not_finite(field):
    for value in _bad_values(field):
        with pytest.raises(RnnlabError) as err:
            TrainConfig(**{field.name: value}).validate()
        assert field.name in str(err.value) and "\n" not in str(err.value), (field.name, value)


@pytest.mark.parametrize("seed", [-1, 2**32, -(2**40)])
def test_seeds_outside_numpys_range_are_refused(seed):
    with pytest.raises(RnnlabError, match="seed must be an integer in"):
        TrainConfig(seed=seed).validate()


def test_knobs_the_schedule_ignores_are_refused():
    for schedule in ("none", "halving", "plateau"):
        with pytest.raises(RnnlabError, match="decay_beta.*does not apply.*pascanu"):
            TrainConfig(schedule=schedule, decay_beta=2330.0).validate()
    TrainConfig(schedule="pascanu", decay_beta=2330.0).validate()


def test_validate_and_build_model_agree_on_every_model_description():
    """One rule for one fact: a config passes validate() exactly when its model can be built."""
    rng = random.Random(11)
    cells = [c for c in CELLS if c != "graph"]
    agreed = refused = 0
    for _ in range(400):
        knobs = dict(arch=rng.choice(list(ARCHS)), cell=rng.choice(cells), hidden=8,
                     transition_hidden=rng.choice([None, 8, 6]), output_hidden=rng.choice([None, 8, 5]),
                     levels=rng.choice([1, 2, 3]), nonlinearity=rng.choice(["tanh", "sigmoid", "maxout"]),
                     forget_bias=rng.choice([None, 1.0]), dropout=rng.choice([0.0, 0.2]))
        try:
            TrainConfig(**knobs).validate()
            valid = True
        except RnnlabError:
            valid = False
        try:
            build_model(n_in=5, n_out=5, **knobs)
            built = True
        except RnnlabError:
            built = False
        assert valid == built, knobs
        agreed += valid
        refused += not valid
    assert agreed > 40 and refused > 40


@pytest.mark.parametrize("knobs", [{"arch": "rnn", "transition_hidden": 9}, {"cell": "lstm_nof", "forget_bias": 1.0},
                                   {"cell": "gru", "nonlinearity": "sigmoid"}, {"lr": float("inf")},
                                   {"dataset": "arithmetic", "task_knobs": {"max_digit": 3}},
                                   {"schedule": "halving", "decay_beta": 5.0}])
def test_nothing_is_written_before_the_config_and_model_are_known_good(tmp_path, knobs, capsys):
    with pytest.raises(RnnlabError):
        Trainer(TrainConfig(**{**KNOBS, **knobs}), run_dir=tmp_path / "new", progress=False)
    with pytest.raises(RnnlabError):
        Trainer(TrainConfig(**{**KNOBS, **knobs}), root=tmp_path / "root", progress=False)
    result = run_cli(capsys, "train", *cli_args({**KNOBS, **knobs}), "--run-dir", str(tmp_path / "cli"))
    assert result.returncode == 2
    one_line(result.stderr)
    assert list(tmp_path.iterdir()) == []


def test_every_typed_flag_names_the_expected_type_in_one_line(capsys):
    from rnnlab.cli import main

    for field in dataclasses.fields(TrainConfig):
        if field.type in ("str",):
            continue
        flag = "--" + field.name.replace("_", "-")
        with pytest.raises(SystemExit) as exit_:
            main(["train", flag, "abc"])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        line = one_line(err)
        assert flag in line and "'abc'" in line and "expected" in line, line


# ------------------------------------------------------------------------------------------ tools keep going
def test_report_skips_a_corrupt_summary_and_names_it(tmp_path, capsys):
    good = _finished_run(tmp_path / "runs", "good")
    bad = tmp_path / "runs" / "bad"
    bad.mkdir()
    (bad / "summary.json").write_text('{"status": "ok",')
    from rnnlab.campaigns.report import results_table

    table = results_table(tmp_path / "runs")
    assert list(table.run_dir) == [str(good)]
    err = capsys.readouterr().err
    assert str(bad / "summary.json") in err and "skipping" in err


@pytest.mark.parametrize("text, fragment", [
    ('{"name": "x",\n "grid": {"seed": [0,]}}', "line 2, column"),
    ('{"name": "x", "grid": {}}', "grid must map"),
    ('{"name": "x", "grid": {"seed": []}}', "non-empty list"),
    ('{"name": "x", "grid": {"seed": 3}}', "non-empty list"),
    ('{"name": "x", "grid": {"lr": [0.1, -2]}}', "point lr=-2"),
    ('{"name": "x", "grid": {"seed": [0]}, "bsae": {}}', "unknown key 'bsae'"),
    ('["name"]', "expected a JSON object"),
])
def test_sweep_specs_fail_in_one_line_naming_file_position_or_point(tmp_path, text, fragment, capsys):
    path = tmp_path / "spec.json"
    path.write_text(text)
    result = run_cli(capsys, "sweep", str(path), "--dry-run")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert fragment in line, line


def test_a_sweep_skips_a_locked_point_and_says_so(tmp_path, capsys):
    from rnnlab.campaigns.sweep import run_point

    point = tmp_path / "seed=3"
    point.mkdir()
    with RunLock(point):
        record = run_point({"name": "seed=3", "run_dir": str(point), "knobs": {**KNOBS, "seed": 3}, "smoke": False,
                            "threads": 1})
    assert record["status"] == "locked"
    assert "skipping seed=3" in capsys.readouterr().out
    assert sorted(p.name for p in point.iterdir()) == [".lock"]


# ------------------------------------------------------------------------------------------ the notebook path
def test_a_misspelt_papermill_parameter_fails_at_once_in_one_line(tmp_path):
    import papermill as pm

    out = tmp_path / "out.ipynb"
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(PROJECT_ROOT / "notebooks" / "03_train.ipynb"), str(out),
                            parameters={"hiden": 9, "smoke": True, "run_dir": str(tmp_path / "run")},
                            cwd=str(PROJECT_ROOT / "notebooks"), progress_bar=False)
    assert "'hiden'" in err.value.evalue and "did you mean 'hidden'" in err.value.evalue
    assert not (tmp_path / "run").exists()
    errors = [o for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])
              if o["output_type"] == "error"]
    assert len(errors) == 1 and len(errors[0]["traceback"]) == 1  # the one line, not a wall of frames


@pytest.mark.slow
def test_train_notebook_passes_every_knob_and_honours_resume(tmp_path):
    run_dir = tmp_path / "nb"
    knobs = {**KNOBS, "epochs": 2}
    first = rnnlab("train", *cli_args(knobs), "--run-dir", str(run_dir), "--notebook", timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert read_config(run_dir) == TrainConfig(**knobs)
    assert (run_dir / "03_train.ipynb").exists()
    updates = len(load_metrics(run_dir, "updates"))
    again = rnnlab("train", "--resume", "--run-dir", str(run_dir), "--epochs", "3", "--notebook", timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(load_metrics(run_dir, "updates")) == updates + KNOBS["max_updates_per_epoch"]
    assert "resumed from last.pt at epoch 2; extended epochs 2 -> 3" in (run_dir / "run.log").read_text()


def test_the_fingerprint_counts_init_from_as_set_wherever_it_points():
    config = TrainConfig(**{**KNOBS, "arch": "srnn", "init_from": "/a/runs/rnn", "pretrained_lr_scale": 0.1})
    moved = dataclasses.replace(config, init_from="/b/results/rnn")
    assert ckpt.config_fingerprint(moved) == ckpt.config_fingerprint(config)
    assert ckpt.config_fingerprint(dataclasses.replace(config, init_from="", pretrained_lr_scale=1.0)) != \
        ckpt.config_fingerprint(dataclasses.replace(config, pretrained_lr_scale=1.0))
    # what checkpoints held before: the path itself hashed (still accepted: see the next test)
    assert ckpt.legacy_config_fingerprint(moved) != ckpt.legacy_config_fingerprint(config)
    plain = TrainConfig(**KNOBS)
    assert ckpt.legacy_config_fingerprint(plain) == ckpt.config_fingerprint(plain)


def test_a_pretrained_run_moved_with_its_parent_loads_resumes_and_old_checkpoints_still_load(tmp_path):
    import shutil

    store = tmp_path / "store"
    _finished_run(store, "rnn", arch="rnn", epochs=1)
    config = TrainConfig(**{**KNOBS, "arch": "srnn", "epochs": 1, "init_from": str(store / "rnn"),
                            "pretrained_lr_scale": 0.1})
    Trainer(config, run_dir=store / "exp" / "srnn", progress=False).fit()
    assert json.loads((store / "exp" / "srnn" / "config.json").read_text())["init_from"] == "../../rnn"
    moved = tmp_path / "published"  # as results/ holds a run store's records: same layout, another place
    shutil.copytree(store, moved)
    shutil.rmtree(store)
    child = moved / "exp" / "srnn"
    assert read_config(child).init_from == str(moved / "rnn")
    best = child / "checkpoints" / "best.pt"
    ckpt.read(best, read_config(child))  # best.pt's fingerprint does not name the parent's old folder
    Trainer.from_record(child, epochs=2, progress=False).fit()  # nor does last.pt's
    assert len(load_metrics(child)) == 2
    # a record written before: config.json holds the absolute path its checkpoints' fingerprint hashed
    recorded = json.loads((child / "config.json").read_text())
    old_path = "/elsewhere/runs/rnn"
    (child / "config.json").write_text(json.dumps({**recorded, "init_from": old_path}))
    old = read_config(child)
    assert old.init_from == old_path  # kept as recorded
    state = torch.load(best, weights_only=True)
    torch.save({**state, "meta": {**state["meta"], "config_sha256": ckpt.legacy_config_fingerprint(old)}}, best)
    ckpt.read(best, read_config(child))
    other = dataclasses.replace(old, init_from="/yet/another/rnn")  # the legacy hash of another path is foreign
    torch.save({**state, "meta": {**state["meta"], "config_sha256": ckpt.legacy_config_fingerprint(other)}}, best)
    with pytest.raises(ckpt.ForeignCheckpointError, match="belongs to another run"):
        ckpt.read(best, read_config(child))


def test_the_fingerprint_ignores_knobs_at_their_default_so_new_knobs_keep_old_checkpoints():
    config = TrainConfig(**KNOBS)
    as_recorded_by_an_older_version = {k: v for k, v in config.to_dict().items() if k != "decay_start_patience"}
    assert ckpt.config_fingerprint(TrainConfig.from_dict(as_recorded_by_an_older_version)) == \
        ckpt.config_fingerprint(config)
    for knob, value in (("hidden", 13), ("seed", 1), ("lr", 0.25)):
        assert ckpt.config_fingerprint(dataclasses.replace(config, **{knob: value})) != ckpt.config_fingerprint(config)
    assert ckpt.config_fingerprint(dataclasses.replace(config, epochs=50, patience=1)) == \
        ckpt.config_fingerprint(config)


# ------------------------------------------------------------------------------------------ found by the fault table
@pytest.mark.parametrize("case", ["run_dir is a file", "parent is a file", "root is a file", "empty run_dir",
                                  "inside a run", "inside its checkpoints", "root is a run", "no valid split",
                                  "no train split", "huge model"])
def test_bad_places_and_sizes_are_one_line_and_write_nothing(tmp_path, case, capsys):
    finished = _finished_run(tmp_path, "finished")
    (tmp_path / "a_file").write_text("notes")
    before = tree_digest(tmp_path)
    knobs, where = dict(KNOBS), ["--run-dir", str(tmp_path / "new")]
    if case == "run_dir is a file":
        where = ["--run-dir", str(tmp_path / "a_file")]
    elif case == "parent is a file":
        where = ["--run-dir", str(tmp_path / "a_file" / "run")]
    elif case == "root is a file":
        where = ["--root", str(tmp_path / "a_file")]
    elif case == "empty run_dir":
        where = ["--run-dir", ""]
    elif case == "inside a run":
        where = ["--run-dir", str(finished / "nested")]
    elif case == "inside its checkpoints":
        where = ["--run-dir", str(finished / "checkpoints")]
    elif case == "root is a run":
        where = ["--root", str(finished)]
    elif case == "no valid split":
        knobs["task_knobs"] = {**TASK, "n_valid": 0}
    elif case == "no train split":
        knobs["task_knobs"] = {**TASK, "n_train": 0}
    elif case == "huge model":
        knobs["hidden"] = 4_000_000_000
    result = run_cli(capsys, "train", *cli_args(knobs), *where, "--quiet")
    assert result.returncode == 2
    one_line(result.stderr)
    assert tree_digest(tmp_path) == before and not (tmp_path / "new").exists()


def test_an_overflowing_update_marks_the_run_diverged(tmp_path, capsys):
    result = run_cli(capsys, "train", *cli_args({**KNOBS, "lr": 1e308, "clip": None}), "--run-dir",
                     str(tmp_path / "run"), "--quiet")
    assert result.returncode == 3
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "diverged"


def test_a_pretrained_run_resumes_from_anywhere_even_after_its_source_is_gone(tmp_path, capsys, monkeypatch):
    _finished_run(tmp_path, "src", arch="rnn", epochs=1)
    monkeypatch.chdir(tmp_path)
    knobs = {**KNOBS, "arch": "srnn", "epochs": 2, "pretrained_lr_scale": 0.1}
    assert run_cli(capsys, "train", *cli_args(knobs), "--init-from", "src", "--run-dir", "child",
                   "--quiet").returncode == 0
    assert read_config(tmp_path / "child").init_from == str(tmp_path / "src")
    # the record names the parent relative to the child's own folder, in config.json and in run.log
    assert json.loads((tmp_path / "child" / "config.json").read_text())["init_from"] == "../src"
    assert " parameters from ../src (lr x 0.1)" in (tmp_path / "child" / "run.log").read_text()
    import shutil

    shutil.rmtree(tmp_path / "src")
    monkeypatch.chdir(tmp_path.parent)
    result = run_cli(capsys, "train", "--resume", "--run-dir", str(tmp_path / "child"), "--epochs", "3", "--quiet")
    assert result.returncode == 0, result.stderr
    assert len(load_metrics(tmp_path / "child")) == 3


@pytest.mark.parametrize("damage", [{"epoch": "1"}, {"history": None}, {"epoch": 7}, {"optimizer": []}])
def test_a_checkpoint_with_a_broken_training_state_falls_back_to_previous(tmp_path, damage, capsys):
    run_dir = _finished_run(tmp_path)
    (run_dir / "summary.json").unlink()
    last = run_dir / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    torch.save({**state, **damage}, last)
    result = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "resumed from previous.pt" in (run_dir / "run.log").read_text()


def test_a_refused_fallback_writes_nothing(tmp_path, capsys):
    run_dir = _finished_run(tmp_path)
    (run_dir / "summary.json").unlink()
    for name in ("last.pt", "previous.pt"):
        (run_dir / "checkpoints" / name).write_bytes(b"not a checkpoint")
    before = tree_digest(run_dir)
    assert run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir)).returncode == 2
    assert tree_digest(run_dir) == before


@pytest.mark.parametrize("summary", ['{"dataset": ["jsb"], "arch": "rnn", "cell": "tanh", "metric": "nll", '
                                     '"status": "ok"}', "{}", "[]", "null"])
def test_report_skips_summaries_of_the_wrong_shape(tmp_path, summary, capsys):
    good = _finished_run(tmp_path / "runs", "good")
    (tmp_path / "runs" / "odd").mkdir()
    (tmp_path / "runs" / "odd" / "summary.json").write_text(summary)
    result = run_cli(capsys, "report", "--root", str(tmp_path / "runs"))
    assert result.returncode == 0 and "skipping" in result.stderr and "odd" in result.stderr
    assert str(good.name) not in result.stderr


@pytest.mark.parametrize("args", [["report", "--root", "{tmp}/typo"], ["report", "--root", "{tmp}/a_file"],
                                  ["data", "list", "--root", "{tmp}/a_file"],
                                  ["data", "stats", "arithmetic", "--seed", "-1"],
                                  ["report", "--root", "{tmp}", "--csv", "{tmp}/no/such/t.csv"]])
def test_other_tools_refuse_bad_places_in_one_line(tmp_path, args, capsys):
    (tmp_path / "a_file").write_text("x")
    result = run_cli(capsys, *[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    one_line(result.stderr)


def test_a_last_pt_that_is_a_folder_is_moved_aside_and_the_run_goes_on(tmp_path, capsys):
    run_dir = _finished_run(tmp_path)
    (run_dir / "summary.json").unlink()
    last = run_dir / "checkpoints" / "last.pt"
    last.unlink()
    last.mkdir()
    result = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir), "--epochs", "4", "--quiet")
    assert result.returncode == 0, result.stderr
    assert last.is_file() and (run_dir / "checkpoints" / "last.pt.damaged").is_dir()
    assert len(load_metrics(run_dir)) == 4


def test_a_bad_best_pt_is_refused_before_a_resume_trains(tmp_path, capsys):
    run_dir = _finished_run(tmp_path)
    (run_dir / "checkpoints" / "best.pt").write_bytes(b"junk")
    before = load_metrics(run_dir)
    result = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir), "--epochs", "5")
    assert result.returncode == 2 and "best.pt" in one_line(result.stderr)
    pd.testing.assert_frame_equal(load_metrics(run_dir), before)


def test_notebook_dict_knobs_may_come_as_json_text():
    config = TrainConfig.from_parameters({"dataset": "arithmetic", "task_knobs": '{"n_train": 32}'})
    assert config.task_knobs == {"n_train": 32}
    with pytest.raises(RnnlabError, match="task_knobs must be a JSON object"):
        TrainConfig.from_parameters({"task_knobs": "{n_train: 32"})


@pytest.mark.parametrize("campaign", ["chung2015", "chung2014-", "chung2014-../x", "Chung2014", "seeds"])
def test_report_refuses_an_unknown_campaign_in_one_line_before_writing(tmp_path, campaign, capsys):
    (tmp_path / "runs").mkdir()
    result = run_cli(capsys, "report", "--paper", campaign, "--root", str(tmp_path / "runs"), "--publish",
                     str(tmp_path / "out"))
    assert result.returncode == 2 and f"unknown campaign {campaign!r}" in one_line(result.stderr)
    assert "chung2014, jozefowicz2015, pascanu2014" in result.stderr and not (tmp_path / "out").exists()


def test_report_publishes_a_campaign_variant_under_its_own_name(tmp_path, capsys):
    Trainer(TrainConfig(**KNOBS), run_dir=tmp_path / "runs" / "jsb" / "gru" / "seed=1", progress=False).fit()
    result = run_cli(capsys, "report", "--paper", "chung2014-seeds", "--root", str(tmp_path / "runs"), "--publish",
                     str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "chung2014-seeds.csv").exists()
    assert (tmp_path / "out" / "chung2014-seeds" / "jsb" / "gru" / "seed=1" / "summary.json").exists()
