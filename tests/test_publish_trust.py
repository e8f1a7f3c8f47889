"""Publishing never downgrades what is published (issue 26): a run that is unfinished, gone or damaged in the store
keeps its published record, files and row, until a newer finished record replaces it; a publish that fails, is
interrupted or killed at any moment changes nothing visible (the tree and the CSV change together)."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rnnlab.campaigns import results
from rnnlab.campaigns.results import publish
from rnnlab.errors import RnnlabError
from rnnlab.train import TrainConfig
from rnnlab.train.callbacks import Callback
from rnnlab.train.trainer import Trainer

PROJECT = Path(__file__).resolve().parents[1]
KNOBS = dict(dataset="arithmetic", cell="gru", hidden=8, batch_size=4, bptt=None, epochs=2, max_updates_per_epoch=3,
             max_eval_sequences=8, device="cpu", task_knobs={"n_train": 32, "n_valid": 8, "n_test": 8,
                                                             "max_digits": 2})
POINTS = ("a/lr=1", "a/lr=2", "b/seed=0")
CHECKPOINTS_FOR = ("arithmetic",)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store of three small finished runs (trained once for the module)."""
    store = tmp_path_factory.mktemp("template") / "store"
    for number, point in enumerate(POINTS):
        Trainer(TrainConfig(**{**KNOBS, "seed": number}), run_dir=store / point, progress=False).fit()
    return store


@pytest.fixture
def published(template, tmp_path):
    """(store, out): a copy of the template store, published once into out."""
    store, out = tmp_path / "store", tmp_path / "results" / "toy"
    shutil.copytree(template, store)
    publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    return store, out


def snapshot(out: Path) -> dict:
    """Every published file (the tree and the CSV) as bytes, and what else lies beside them."""
    files = {p.relative_to(out.parent).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    files[out.with_suffix(".csv").name] = out.with_suffix(".csv").read_bytes()
    files["(beside)"] = sorted(p.name for p in out.parent.iterdir())
    return files


def point_files(out: Path, point: str) -> dict:
    folder = out / point
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def row(out: Path, point: str) -> dict:
    table = pd.read_csv(out.with_suffix(".csv"))
    return {key: None if pd.isna(value) else value for key, value in table[table.point == point].iloc[0].items()}


def consistent(out: Path) -> None:
    """The published CSV and the published summaries tell the same story, point by point."""
    table = pd.read_csv(out.with_suffix(".csv"))
    assert sorted(table.point) == sorted(p.parent.relative_to(out).as_posix() for p in out.rglob("summary.json"))
    for point, status, epochs, valid in zip(table.point, table.status, table.epochs_run, table.best_valid,
                                            strict=True):
        summary = json.loads((out / point / "summary.json").read_text())
        assert (summary["status"], summary["epochs_run"]) == (status, epochs), point
        assert math.isclose(summary["best_valid"], valid), point


# ----------------------------------------------------------------------------------- the store's damage kinds
def _edit_json(path: Path, change) -> None:
    value = json.loads(path.read_text())
    change(value)
    path.write_text(json.dumps(value))


def _truncate(path: Path, keep: float = 0.5, cut_line: bool = True) -> None:
    data = path.read_bytes()
    end = int(len(data) * keep)
    if cut_line and data[end - 1:end] == b"\n":
        end -= 2
    path.write_bytes(data[:end])


def _replace_by_folder(path: Path) -> None:
    path.unlink()
    (path / "inside").mkdir(parents=True)


def _set(key_path: tuple, value):
    def change(summary):
        target = summary
        for key in key_path[:-1]:
            target = target.setdefault(key, {})
        target[key_path[-1]] = value
    return change


DAMAGE = {  # name -> (file it damages, how)
    "summary NaN best_valid": ("summary.json", lambda p: _edit_json(p, _set(("best_valid",), float("nan")))),
    "summary inf in test": ("summary.json", lambda p: _edit_json(p, _set(("test", "accuracy"), float("inf")))),
    "summary -inf in a list": ("summary.json", lambda p: _edit_json(p, _set(("extra",), [1.0, float("-inf")]))),
    "summary a JSON list": ("summary.json", lambda p: p.write_text("[1, 2, 3]")),
    "summary a JSON string": ("summary.json", lambda p: p.write_text('"ok"')),
    "summary torn": ("summary.json", lambda p: _truncate(p, 0.6)),
    "summary binary": ("summary.json", lambda p: p.write_bytes(os.urandom(64))),
    "summary empty": ("summary.json", lambda p: p.write_bytes(b"")),
    "summary status not a string": ("summary.json", lambda p: _edit_json(p, _set(("status",), 1))),
    "summary a folder": ("summary.json", _replace_by_folder),
    "config torn": ("config.json", lambda p: _truncate(p, 0.3)),
    "config without arch": ("config.json", lambda p: _edit_json(p, lambda c: c.pop("arch"))),
    "config missing": ("config.json", lambda p: p.unlink()),
    "metrics last line torn": ("metrics.csv", lambda p: _truncate(p, 0.97)),
    "metrics first row torn": ("metrics.csv", lambda p: _truncate(p, 0.4, cut_line=False)),
    "metrics extra field": ("metrics.csv", lambda p: p.write_text(p.read_text().rstrip("\n") + ",7\n")),
    "metrics binary": ("metrics.csv", lambda p: p.write_bytes(b"epoch,x\n\xff\xfe,1\n")),
    "metrics a folder": ("metrics.csv", _replace_by_folder),
    "updates torn": ("updates.csv", lambda p: _truncate(p, 0.5)),
    "updates without columns": ("updates.csv", lambda p: p.write_text("a,b\n1,2\n")),
    "run.log binary": ("run.log", lambda p: p.write_bytes(b"\x80\x81\x82 not utf-8\n")),
    "best.pt a folder": ("checkpoints/best.pt", _replace_by_folder),
    "best.pt torn": ("checkpoints/best.pt", lambda p: _truncate(p, 0.5, cut_line=False)),
    "best.pt empty": ("checkpoints/best.pt", lambda p: p.write_bytes(b"")),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_record_is_skipped_with_one_line_naming_the_file_and_the_published_one_kept(published, kind):
    store, out = published
    name, damage = DAMAGE[kind]
    point = "a/lr=1"
    before = snapshot(out)
    damage(store / point / name)
    _edit_json(store / "b/seed=0" / "summary.json", _set(("commit",), "newer"))  # the rest is published anyway
    table = publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    assert list(table.attrs["damaged"]) == [point], table.attrs
    line = table.attrs["damaged"][point]
    assert line.startswith(str(store / point / name)) and "\n" not in line, line
    after = snapshot(out)
    assert point_files(out, point) == {k.removeprefix(f"toy/{point}/"): v for k, v in before.items()
                                       if k.startswith(f"toy/{point}/")}
    old_rows = pd.read_csv(io.BytesIO(before["toy.csv"]))
    new_rows = pd.read_csv(out.with_suffix(".csv"))
    pd.testing.assert_frame_equal(new_rows[new_rows.point != "b/seed=0"], old_rows[old_rows.point != "b/seed=0"])
    assert row(out, "b/seed=0")["commit"] == "newer"
    assert after["(beside)"] == before["(beside)"]  # no stage left behind
    consistent(out)


def test_a_damaged_run_never_published_is_left_out(template, tmp_path):
    store, out = tmp_path / "store", tmp_path / "results" / "toy"
    shutil.copytree(template, store)
    for (name, damage), point in zip((DAMAGE["metrics last line torn"], DAMAGE["summary NaN best_valid"]),
                                     ("a/lr=1", "b/seed=0"), strict=True):
        damage(store / point / name)
    table = publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    assert list(table.point) == ["a/lr=2"] and sorted(table.attrs["damaged"]) == ["a/lr=1", "b/seed=0"]
    assert not (out / "a" / "lr=1").exists() and not (out / "b").exists()
    consistent(out)


def test_the_report_command_says_one_line_per_skipped_file(published, capsys):
    from rnnlab.cli import main

    store, out = published
    command = ["report", "--paper", "pascanu2014", "--root", str(store), "--publish", str(out.parent)]
    assert main(command) == 0
    (store / "a/lr=1/metrics.csv").write_text("epoch,train\n1,0.5\n2,0.")
    (store / "a/lr=2/summary.json").write_text("[]")
    capsys.readouterr()
    assert main(command) == 0
    skipped = [line for line in capsys.readouterr().err.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 2 and all(line.endswith("(left as published before)") for line in skipped), skipped
    assert {line.split(":")[0].removeprefix("skipped ") for line in skipped} == {
        str(store / "a/lr=1/metrics.csv"), str(store / "a/lr=2/summary.json")}


# ----------------------------------------------------------------------- unfinished, gone, rerun: kept as published
class _StopAfterEpoch(Callback):
    """Presses Ctrl-C at the end of an epoch (the trainer writes an interrupted summary)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_end(self, trainer, row):
        if trainer.epoch >= self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("stop_at", [3, 4])
def test_an_extension_stopped_with_ctrl_c_keeps_the_published_record_until_it_finishes(published, stop_at):
    store, out = published
    point = next(p for p in POINTS if (out / p / "checkpoints" / "best.pt").exists())  # the best of its group
    seed = POINTS.index(point)
    before = point_files(out, point)
    old_row = row(out, point)
    assert old_row["status"] == "ok" and pd.notna(old_row["test_metric"])
    Trainer(TrainConfig(**{**KNOBS, "seed": seed, "epochs": 6}), run_dir=store / point, resume=True,
            progress=False, callbacks=[_StopAfterEpoch(stop_at)]).fit()
    assert json.loads((store / point / "summary.json").read_text())["status"] == "interrupted"
    table = publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    assert table.attrs["unfinished"] == [point]
    assert point_files(out, point) == before and row(out, point) == old_row  # best.pt and the test number stay
    consistent(out)
    Trainer(TrainConfig(**{**KNOBS, "seed": seed, "epochs": 6}), run_dir=store / point, resume=True,
            progress=False).fit()  # the extension finishes: the newer finished record replaces the old one
    table = publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    assert table.attrs["unfinished"] == [] and row(out, point)["epochs_run"] > old_row["epochs_run"]
    consistent(out)


@pytest.mark.parametrize("how", ["failed", "interrupted", "summary removed", "folder removed", "folder emptied"])
def test_a_rerun_or_a_vanished_run_keeps_the_published_record(published, how):
    store, out = published
    point = "b/seed=0"
    before, old_row = point_files(out, point), row(out, point)
    run = store / point
    if how in ("failed", "interrupted"):
        _edit_json(run / "summary.json", lambda s: s.update(status=how, test={}, best_valid=None))
    elif how == "summary removed":
        (run / "summary.json").unlink()
    elif how == "folder removed":
        shutil.rmtree(run)
    else:
        shutil.rmtree(run)
        run.mkdir()
    table = publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    kept = table.attrs["unfinished"] + table.attrs["missing"]
    assert kept == [point] and point_files(out, point) == before and row(out, point) == old_row
    consistent(out)


def test_an_unfinished_run_replaces_an_unfinished_one(published):
    store, out = published
    point = "a/lr=2"
    _edit_json(store / point / "summary.json", lambda s: s.update(status="failed", message="first"))
    (out / point / "summary.json").write_text((store / point / "summary.json").read_text())
    table = pd.read_csv(out.with_suffix(".csv"))
    table.loc[table.point == point, "status"] = "failed"
    table.to_csv(out.with_suffix(".csv"), index=False)
    _edit_json(store / point / "summary.json", lambda s: s.update(message="second"))
    assert publish(store, out, checkpoints_for=CHECKPOINTS_FOR).attrs["unfinished"] == []
    assert json.loads((out / point / "summary.json").read_text())["message"] == "second"


# ------------------------------------------------------------------------ failures at every moment change nothing
def _failing_put(monkeypatch, after: int, error: BaseException):
    real, calls = results._put, []

    def put(path, data):
        calls.append(path)
        if len(calls) > after:
            raise error
        real(path, data)

    monkeypatch.setattr(results, "_put", put)
    return calls


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), OSError(27, "File too large"),
                                   OSError(13, "Permission denied"), KeyboardInterrupt()],
                         ids=["ENOSPC", "EFBIG", "EACCES", "ctrl-c"])
def test_a_publish_that_fails_at_any_write_changes_nothing_visible(published, monkeypatch, error):
    store, out = published
    for point in POINTS:  # every point has something new to publish
        _edit_json(store / point / "summary.json", _set(("commit",), "newer"))
    before = snapshot(out)
    calls = _failing_put(monkeypatch, 10**6, error)
    publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    total = len(calls)
    out_copy = snapshot(out)
    shutil.rmtree(out)
    out.with_suffix(".csv").unlink()
    for path, data in before.items():  # back to the first publication
        if path != "(beside)":
            (out.parent / path).parent.mkdir(parents=True, exist_ok=True)
            (out.parent / path).write_bytes(data)
    assert total > 10
    for after in sorted({0, 1, total // 3, total // 2, total - 2, total - 1}):
        _failing_put(monkeypatch, after, error)
        with pytest.raises(type(error) if isinstance(error, KeyboardInterrupt) else RnnlabError) as caught:
            publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
        assert snapshot(out) == before, after
        if not isinstance(error, KeyboardInterrupt):
            message = str(caught.value)
            assert "\n" not in message and ".publish-" not in message and str(out.parent) in message, message
            assert str(store) not in message  # the file that failed, not the source
            if error.errno in (27, 28):
                assert "free" in message
    monkeypatch.undo()
    publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    assert snapshot(out) == out_copy


def test_a_publish_that_fails_in_its_swap_puts_the_old_tree_back(published, monkeypatch):
    store, out = published
    _edit_json(store / "a/lr=2" / "summary.json", _set(("commit",), "newer"))
    before = snapshot(out)
    real = os.replace

    def replace(a, b, *args, **kwargs):
        if Path(b) == out.with_suffix(".csv"):
            raise OSError(28, "No space left on device", str(b))
        return real(a, b, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    assert snapshot(out) == before


def test_two_publishes_at_once_one_waits_its_turn_with_one_line(published, monkeypatch):
    store, out = published
    with results._PublishLock(out.parent):
        with pytest.raises(RnnlabError, match="another process is publishing into"):
            publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    consistent(out)


@pytest.mark.parametrize("target", ["a file", "a read-only folder"])
def test_publishing_where_it_cannot_is_one_line_and_changes_nothing(published, target, monkeypatch):
    store, out = published
    if target == "a file":
        bad = out.parent / "plain"
        bad.write_text("x")
        with pytest.raises(RnnlabError, match="is a file, not a folder"):
            publish(store, bad, checkpoints_for=CHECKPOINTS_FOR)
        assert bad.read_text() == "x"
        return
    if os.geteuid() == 0:  # root writes into read-only folders: the refusal a user gets, as the system gives it
        import tempfile

        def refused(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(out.parent / ".x"))

        monkeypatch.setattr(tempfile, "mkdtemp", refused)
    before = snapshot(out)
    os.chmod(out.parent, 0o555)
    try:
        with pytest.raises(RnnlabError, match="Permission denied"):
            publish(store, out, checkpoints_for=CHECKPOINTS_FOR)
    finally:
        os.chmod(out.parent, 0o755)
    assert snapshot(out) == before


# ------------------------------------------------------------------------------------- real processes, killed
CHILD = """
import os, signal, sys
from pathlib import Path
from rnnlab.campaigns import results
store, out, kill_at, where = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
calls = []
real_put, real_replace, real_exchange = results._put, os.replace, results._exchange
def put(path, data):
    calls.append(path)
    if where == "put" and len(calls) > kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    real_put(path, data)
def replace(a, b, *args, **kwargs):
    if where == "swap" and Path(b) == out.with_suffix(".csv"):
        os.kill(os.getpid(), signal.SIGKILL)  # the tree is swapped, the table not yet
    return real_replace(a, b, *args, **kwargs)
results._put, os.replace = put, replace
results.publish(store, out, checkpoints_for=("arithmetic",))
print(len(calls))
"""


def _child(store, out, kill_at, where):
    return subprocess.run([sys.executable, "-c", CHILD, str(store), str(out), str(kill_at), where],
                          capture_output=True, text=True, cwd=PROJECT, timeout=120)


@pytest.mark.slow
def test_a_publish_killed_at_any_moment_leaves_the_old_or_the_new_publication(published):
    store, out = published
    for point in POINTS:
        _edit_json(store / point / "summary.json", _set(("commit",), "newer"))
    before = snapshot(out)
    for kill_at in (0, 5, 11):
        done = _child(store, out, kill_at, "put")
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert {k: v for k, v in snapshot(out).items() if k != "(beside)"} == {
            k: v for k, v in before.items() if k != "(beside)"}
        consistent(out)
    done = _child(store, out, 0, "swap")  # killed between the tree's exchange and the table's
    assert done.returncode == -signal.SIGKILL, done.stderr
    table = publish(store, out, checkpoints_for=CHECKPOINTS_FOR)  # the next publish finishes the swap first
    assert set(table.commit) == {"newer"}
    consistent(out)
    assert snapshot(out)["(beside)"] == ["toy", "toy.csv"]
