"""Sweeps and the command line at the edges (issue 26): a runaway grid is refused up front with its size, a spec of no
points is one line, a spec edited after its sweep ran never passes the old runs off as its results, and SIGTERM,
SIGINT and SIGHUP end every subcommand with one line and exit status 130.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnlab.campaigns import spec as spec_module
from rnnlab.campaigns.spec import MAX_POINTS, Point, expand, point_name
from rnnlab.campaigns.sweep import KNOBS_FILE, run_sweep
from rnnlab.cli import SUBCOMMANDS
from rnnlab.cli import main as cli_main
from rnnlab.errors import RnnlabError
from tests.conftest import PROJECT_ROOT

TINY = {"dataset": "arithmetic", "arch": "rnn", "cell": "tanh", "optimizer": "sgd", "lr": 0.1, "clip": None,
        "epochs": 2, "hidden": 8, "batch_size": 4, "max_updates_per_epoch": 3, "max_eval_sequences": 4,
        "device": "cpu", "task_knobs": {"n_train": 32, "n_valid": 8, "n_test": 8}}
SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


def _write(path: Path, spec: dict) -> Path:
    path.write_text(json.dumps(spec))
    return path


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")}


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# ------------------------------------------------------------------------------------------- the size of a spec
def _huge(kind: str, n: int) -> dict:
    base = {"name": "huge", "base": TINY}
    if kind == "values":
        return {**base, "grid": {"seed": list(range(n))}}
    if kind == "draws":
        return {**base, "draws": {"count": n, "seed": 0, "knobs": {"lr": {"log_uniform": [1e-4, 1e-1]}}}}
    if kind == "product":  # several knobs, none large alone
        side = round(n ** (1 / 3)) + 1
        return {**base, "grid": {"seed": list(range(side)), "hidden": list(range(1, side + 1)),
                                 "batch_size": list(range(1, side + 1))}}
    if kind == "datasets-models":  # datasets x models x grid x draws
        side = round(n ** (1 / 4)) + 1
        return {**base, "datasets": {f"d{i}": {"dataset": "arithmetic"} for i in range(side)},
                "models": {f"m{i}": {} for i in range(side)}, "grid": {"seed": list(range(side))},
                "draws": {"count": side, "seed": 1, "knobs": {"lr": {"uniform": [0.01, 0.1]}}}}
    raise AssertionError(kind)


@pytest.mark.parametrize("n", [MAX_POINTS + 1, 10**7, 10**9])
@pytest.mark.parametrize("kind", ["values", "draws", "product", "datasets-models"])
def test_a_spec_over_the_limit_is_refused_with_its_size_in_under_a_second(tmp_path, kind, n):
    if kind in ("values",) and n > 10**7:
        pytest.skip("a JSON list of 10^9 values is itself too big to write")
    spec = _huge(kind, n)
    start = time.perf_counter()
    with pytest.raises(RnnlabError) as err:
        expand(spec, root=tmp_path)
    assert time.perf_counter() - start < 1.0
    message = str(err.value)
    assert "\n" not in message and f"limited to {MAX_POINTS:,}" in message
    count = int(message.split(" has ")[1].split(" points")[0].replace(",", ""))
    assert count > MAX_POINTS
    assert not any(tmp_path.iterdir())


def test_the_cli_refuses_a_runaway_grid_before_writing_anything(tmp_path, capsys):
    path = _write(tmp_path / "spec.json", _huge("values", 10**7))
    for extra in ([], ["--dry-run"], ["--status"]):
        assert cli_main(["sweep", str(path), "--root", str(tmp_path / "runs"), *extra]) == 2
        line = _one_line(capsys.readouterr().err)
        assert "10,000,000 points" in line and f"{MAX_POINTS:,}" in line
    assert not (tmp_path / "runs").exists()


def _cheap_point(where, sweep_dir, base, datasets, models, label, model, combo, drawn, index, smoke, smoke_knobs,
                 by_key):
    values = {**combo, **drawn}
    name = point_name(values, label, model)
    return Point(name=name, dataset=label, model=model, values=values, knobs={}, run_dir=sweep_dir / name)


@pytest.mark.parametrize("duplicate", [None, "first", "last"])
def test_the_duplicate_name_check_is_linear(tmp_path, monkeypatch, duplicate):
    """Building a point (TrainConfig validation) is left out; what stays is expand's own bookkeeping, which a
    quadratic duplicate check made take minutes at this size."""
    monkeypatch.setattr(spec_module, "_point", _cheap_point)
    values = list(range(MAX_POINTS // 2))  # quadratic: 10^9 comparisons or more, minutes; linear: a second or two
    if duplicate:
        values.append(values[0] if duplicate == "first" else values[-1])
    spec = {"name": "d", "grid": {"seed": values}}
    start = time.perf_counter()
    if duplicate:
        with pytest.raises(RnnlabError, match=f"two points share the name 'seed={values[-1]}'"):
            expand(spec, root=tmp_path)
    else:
        assert len(expand(spec, root=tmp_path)) == len(values)
    assert time.perf_counter() - start < 20  # generous: two cores shared with other work


# --------------------------------------------------------------------------------------- a spec of no points
ZERO = {
    "one dataset leaves out the one model": {"models": {"a": {}}, "datasets": {"arithmetic": {"models": {"a": None}}}},
    "every dataset leaves out every model": {
        "models": {"a": {}, "b": {}}, "grid": {"seed": [0, 1]},
        "datasets": {"arithmetic": {"models": {"a": None, "b": None}},
                     "memorize": {"dataset": "arithmetic", "models": {"b": None, "a": None}}}},
    "and draws": {"models": {"a": {}}, "datasets": {"arithmetic": {"models": {"a": None}}},
                  "draws": {"count": 3, "seed": 0, "knobs": {"lr": {"uniform": [0.01, 0.1]}}}},
}


@pytest.mark.parametrize("shape", list(ZERO))
@pytest.mark.parametrize("extra", [[], ["--dry-run"], ["--status"], ["--smoke"]], ids=lambda e: " ".join(e) or "run")
def test_a_spec_of_no_points_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, shape, extra):
    path = _write(tmp_path / "spec.json", {"name": "z", "base": TINY, **ZERO[shape]})
    assert cli_main(["sweep", str(path), "--root", str(tmp_path / "runs"), *extra]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "describes no points" in line and "left out" in line
    assert not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------- a spec edited after its sweep ran
SPEC = {"name": "e", "base": TINY, "models": {"a": {}}, "grid": {"seed": [0, 1]}}


@pytest.fixture(scope="module")
def finished_store(tmp_path_factory) -> Path:
    """A finished smoke sweep of SPEC (two points, run once for the module)."""
    root = tmp_path_factory.mktemp("store") / "runs"
    rows = run_sweep(SPEC, root=root, smoke=True, engine="inline", stream=open(os.devnull, "w"))
    assert [r["status"] for r in rows] == ["ok", "ok"], rows
    return root


def _edited(change: str) -> tuple[dict, str]:
    """SPEC with one change, and the words the refusal must say about it."""
    spec = json.loads(json.dumps(SPEC))
    if change == "base knob":
        spec["base"]["hidden"] = 14
        return spec, "hidden 8 -> 14"
    if change == "model knob":
        spec["models"]["a"]["lr"] = 0.05
        return spec, "lr 0.1 -> 0.05"
    if change == "nested task knob":
        spec["base"]["task_knobs"]["n_train"] = 33
        return spec, "task_knobs"
    if change == "string knob":
        spec["base"]["cell"] = "gru"
        return spec, "cell 'tanh' -> 'gru'"
    if change == "fewer epochs":
        spec["base"]["epochs"] = 1
        return spec, "epochs 2 -> 1"
    raise AssertionError(change)


def _copy(store: Path, tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(store, root)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("change", ["base knob", "model knob", "nested task knob", "string knob", "fewer epochs"])
def test_a_spec_edited_after_its_sweep_finished_is_refused_naming_the_points_and_the_knob(finished_store, tmp_path,
                                                                                          capsys, change):
    root = _copy(finished_store, tmp_path)
    spec, words = _edited(change)
    path = _write(tmp_path / "spec.json", spec)
    before = _snapshot(root)
    for extra in ([], ["--status"]):
        assert cli_main(["sweep", str(path), "--root", str(root), "--smoke", *extra]) == 2
        line = _one_line(capsys.readouterr().err)
        assert "2 points" in line and "a/seed=0" in line and words in line, line
        assert "--root" in line and "delete" in line
    assert _snapshot(root) == before  # spec.json kept, nothing run or written
    assert json.loads((root / "e-smoke" / "spec.json").read_text()) == SPEC


@pytest.mark.slow
@pytest.mark.parametrize("change", ["base knob", "model knob", "string knob"])
def test_a_store_without_the_knobs_record_is_checked_by_its_config_json(finished_store, tmp_path, capsys, change):
    root = _copy(finished_store, tmp_path)
    for recorded in root.rglob(KNOBS_FILE):
        recorded.unlink()  # a store written before the record existed
    spec, words = _edited(change)
    assert cli_main(["sweep", str(_write(tmp_path / "spec.json", spec)), "--root", str(root), "--smoke"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "2 points" in line and words in line


@pytest.mark.slow
def test_an_unchanged_or_grown_spec_still_skips_its_finished_points(finished_store, tmp_path, capsys):
    root = _copy(finished_store, tmp_path)
    path = _write(tmp_path / "spec.json", SPEC)
    assert cli_main(["sweep", str(path), "--root", str(root), "--smoke", "--engine", "inline"]) == 0
    assert "2 finished before" in capsys.readouterr().out
    # a store older than the record, and a point extended past the spec's epochs (rnnlab extend): trusted
    for recorded in root.rglob(KNOBS_FILE):
        recorded.unlink()
    config = root / "e-smoke" / "a" / "seed=0" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "epochs": 50}))
    assert cli_main(["sweep", str(path), "--root", str(root), "--smoke", "--status"]) == 0
    # a description edited: the points' knobs are the same
    assert cli_main(["sweep", str(_write(tmp_path / "spec.json", {**SPEC, "description": "x"})), "--root", str(root),
                     "--smoke", "--status"]) == 0


# ------------------------------------------------------------------------------ signals: one line, exit 130
# Each subcommand's main is replaced by a stall that says READY and sleeps: what is under test is the command line's
# own rule (every subcommand, whatever its work), with the signal arriving inside the command.
LAUNCH = """
import importlib, os, sys, time
def stall(*args, **kwargs):
    print("READY", flush=True)
    time.sleep(600)
def noop(*args, **kwargs):
    return None
for variable, replacement in (("RNNLAB_TEST_STALL", stall), ("RNNLAB_TEST_NOOP", noop)):
    for target in filter(None, os.environ.get(variable, "").split(",")):
        module, attribute = target.split(":")
        setattr(importlib.import_module(module), attribute, replacement)
from rnnlab import cli
sys.exit(cli.main(sys.argv[1:]))
"""
ARGV = {"data": ["data", "list"], "archs": ["archs"], "train": ["train"], "sweep": ["sweep", "x.json"],
        "extend": ["extend", "x", "--epochs", "5"], "report": ["report"], "convention-gap": ["convention-gap"],
        "cell-state": ["cell-state", "x"], "search": ["search"], "table1": ["table1"], "figures": ["figures", "x"]}


def _launch(argv: list[str], env: dict, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LAUNCH, *argv], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "lib"), **env})


def _wait_ready(process: subprocess.Popen, timeout: float = 120) -> None:
    line = process.stdout.readline()
    assert line.strip() == "READY", (line, process.stderr.read() if process.poll() is not None else "")


@pytest.mark.slow
def test_every_subcommand_ends_on_sigterm_sigint_or_sighup_with_one_line_and_130(tmp_path):
    assert set(ARGV) == set(SUBCOMMANDS), "give the new subcommand a command line here"
    runs = []
    for index, (name, argv) in enumerate(sorted(ARGV.items())):
        signum = SIGNALS[index % len(SIGNALS)]
        module = SUBCOMMANDS[name][0]
        runs.append((name, signum, _launch(argv, {"RNNLAB_TEST_STALL": f"{module}:main"}, tmp_path)))
    for _, signum, process in runs:
        _wait_ready(process)
        process.send_signal(signum)
    for name, signum, process in runs:
        out, err = process.communicate(timeout=180)  # ten processes on a shared machine
        assert process.returncode == 130, (name, signum.name, process.returncode, err[-2000:])
        assert _one_line(err) == f"rnnlab {name}: interrupted ({signum.name})", (name, err)


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_data_fetch_from_interrupted_mid_write_leaves_no_partial_file(tmp_path, signum):
    from rnnlab.data.fetch import files_of

    source, dest = tmp_path / "copy", tmp_path / "data"
    source.mkdir()
    entry = files_of("nottingham")[0]
    (source / Path(entry.relpath).name).write_bytes(b"x" * 100_000)
    process = _launch(["data", "fetch", "nottingham", "--from", str(source), "--dest", str(dest)],
                      {"RNNLAB_TEST_STALL": "os:fsync", "RNNLAB_TEST_NOOP": "rnnlab.data.fetch:verify"}, tmp_path)
    _wait_ready(process)  # the copy's temporary file is written, not yet renamed
    assert [p.name for p in dest.rglob("*") if p.is_file()]
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and _one_line(err) == f"rnnlab data: interrupted ({signum.name})"
    assert not [p for p in dest.rglob("*") if p.is_file()]


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_a_training_run_ended_by_a_signal_records_itself_interrupted(tmp_path, signum):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "rnnlab.cli", "train", "--dataset", "arithmetic", "--arch", "rnn", "--hidden",
               "8", "--epochs", "100000", "--patience", "100000", "--max-updates-per-epoch", "2",
               "--max-eval-sequences", "2", "--task-knobs", '{"n_train": 8, "n_valid": 4, "n_test": 4}',
               "--device", "cpu", "--run-dir", str(run), "--quiet"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while not (run / "metrics.csv").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert process.poll() is None, process.communicate()
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (process.returncode, err[-2000:])
    assert "Traceback" not in out + err
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
