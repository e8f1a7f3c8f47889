"""Append-only run records (issue 27): ``metrics.csv`` and ``updates.csv`` grow by one write per epoch, ``last.pt``
holds what a resume needs (the counts of the rows, not the rows), so recording an epoch costs the same at epoch 2
and epoch 12; a resume cuts rows a killed run wrote beyond its checkpoint, and old checkpoints that carry every
row still resume."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from rnnlab.train import TrainConfig
from rnnlab.train.callbacks import Callback
from rnnlab.train.runs import load_metrics
from rnnlab.train.trainer import Trainer

TIMING = ["epoch_seconds", "wall_seconds", "tokens_per_s"]
TASK = {"n_train": 48, "n_valid": 8, "n_test": 8, "max_digits": 2}
KNOBS = dict(dataset="arithmetic", cell="gru", hidden=8, batch_size=4, bptt=None, epochs=4, patience=50,
             max_updates_per_epoch=5, max_eval_sequences=8, optimizer="sgd", lr=0.3, seed=3, device="cpu",
             task_knobs=TASK)


def _without_time(run_dir, which="metrics") -> pd.DataFrame:
    table = load_metrics(run_dir, which)
    return table.drop(columns=[c for c in TIMING + ["wall_seconds"] if c in table.columns])


class _BytesPerEpoch(Callback):
    """Bytes this process wrote (``wchar`` of /proc/self/io) by the end of each epoch, and whether the epoch was a
    new best (then it wrote best.pt too)."""

    def __init__(self):
        self.marks: list[int] = []
        self.improved: list[bool] = []

    @staticmethod
    def written() -> int:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
        raise AssertionError("no wchar in /proc/self/io")

    def on_epoch_end(self, trainer, row):
        self.marks.append(self.written())
        self.improved.append(trainer.best_epoch == trainer.epoch)


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's /proc/self/io to count bytes written")
def test_recording_an_epoch_costs_the_same_at_epoch_2_and_epoch_12(tmp_path):
    counter = _BytesPerEpoch()
    Trainer(TrainConfig(**{**KNOBS, "epochs": 12}), run_dir=tmp_path / "run", callbacks=[counter],
            progress=False).fit()
    best_pt = (tmp_path / "run" / "checkpoints" / "best.pt").stat().st_size
    # an epoch writes last.pt, five update rows and a metrics row, and best.pt when the validation improved
    per_epoch = [b - a - best_pt * improved for a, b, improved in
                 zip(counter.marks, counter.marks[1:], counter.improved[1:], strict=False)]
    assert len(per_epoch) == 11
    # flat: row lengths differ by a few digits. Before issue 27 the tables were rewritten whole and last.pt
    # carried every row: here +~950 bytes per epoch, 34.5 KB at epoch 2 and 35.3 KB (less a best.pt) at 12
    assert max(per_epoch) - min(per_epoch) <= 100, per_epoch
    last_pt = (tmp_path / "run" / "checkpoints" / "last.pt").stat().st_size
    previous = (tmp_path / "run" / "checkpoints" / "previous.pt").stat().st_size
    assert abs(last_pt - previous) <= 16  # last.pt does not grow with the run


def test_appended_tables_read_as_the_rows_the_trainer_kept(tmp_path):
    trainer = Trainer(TrainConfig(**KNOBS), run_dir=tmp_path / "run", progress=False)
    trainer.fit()
    metrics, updates = load_metrics(tmp_path / "run"), load_metrics(tmp_path / "run", "updates")
    pd.testing.assert_frame_equal(metrics, pd.DataFrame(trainer.history), check_dtype=False)
    pd.testing.assert_frame_equal(updates, pd.DataFrame(trainer.update_rows), check_dtype=False)
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert "history" not in state and "update_rows" not in state
    assert (state["epoch"], state["updates"]) == (len(metrics), len(updates)) == (4, 20)


def _reference(tmp_path) -> Path:
    Trainer(TrainConfig(**KNOBS), run_dir=tmp_path / "ref", progress=False).fit()
    return tmp_path / "ref"


def _killed_after_epoch_3(tmp_path, reference: Path) -> Path:
    """A run as a kill leaves it after the tables of epoch 3 were appended but before last.pt of epoch 3 was
    written: the tables one epoch (and a torn row) ahead of last.pt (epoch 2), no summary."""
    run = tmp_path / "killed"
    Trainer(TrainConfig(**{**KNOBS, "epochs": 3}), run_dir=run, progress=False).fit()
    checkpoints = run / "checkpoints"
    os.replace(checkpoints / "previous.pt", checkpoints / "last.pt")  # last.pt back to epoch 2
    (run / "summary.json").unlink()
    with open(run / "updates.csv", "a") as handle:
        handle.write("16,4,3.2,0.1")  # a torn row of epoch 4
    return run


def test_a_resume_cuts_rows_beyond_its_checkpoint_and_matches_the_uninterrupted_run(tmp_path):
    reference = _reference(tmp_path)
    run = _killed_after_epoch_3(tmp_path, reference)
    assert len(load_metrics(run)) == 3
    summary = Trainer(TrainConfig(**KNOBS), run_dir=run, resume=True, progress=False).fit()
    assert "resumed from last.pt at epoch 2" in (run / "run.log").read_text()
    pd.testing.assert_frame_equal(_without_time(run), _without_time(reference))
    pd.testing.assert_frame_equal(_without_time(run, "updates"), _without_time(reference, "updates"))
    assert summary["test"] == Trainer.from_record(reference, progress=False).fit()["test"]


def test_a_checkpoint_ahead_of_its_tables_falls_back_to_previous(tmp_path):
    run = tmp_path / "run"
    Trainer(TrainConfig(**{**KNOBS, "epochs": 3}), run_dir=run, progress=False).fit()
    (run / "summary.json").unlink()
    lines = (run / "metrics.csv").read_text().splitlines(keepends=True)
    (run / "metrics.csv").write_text("".join(lines[:3]))  # rows of epochs 1-2 only: last.pt (epoch 3) is ahead
    Trainer(TrainConfig(**KNOBS), run_dir=run, resume=True, progress=False).fit()
    log = (run / "run.log").read_text()
    assert "is ahead of its tables" in log and "resumed from previous.pt at epoch 2" in log
    assert load_metrics(run)["epoch"].tolist() == [1, 2, 3, 4]


def test_an_old_checkpoint_carrying_every_row_still_resumes_bit_for_bit(tmp_path):
    """A run recorded before issue 27: its last.pt holds history and update_rows, and its tables may lag one epoch
    behind it (they were written after the checkpoint)."""
    reference = _reference(tmp_path)
    run = tmp_path / "old"
    shutil.copytree(reference, run)
    for name in ("summary.json", "checkpoints/last.pt"):
        (run / name).unlink()
    state = torch.load(run / "checkpoints" / "previous.pt", weights_only=True)  # epoch 3
    history = pd.read_csv(run / "metrics.csv").head(3).to_dict("records")
    updates = pd.read_csv(run / "updates.csv").head(15).to_dict("records")
    torch.save({**state, "history": history, "update_rows": updates}, run / "checkpoints" / "last.pt")
    for name, rows in (("metrics.csv", 2), ("updates.csv", 10)):  # the tables of epoch 2
        lines = (run / name).read_text().splitlines(keepends=True)
        (run / name).write_text("".join(lines[:rows + 1]))
    Trainer(TrainConfig(**KNOBS), run_dir=run, resume=True, progress=False).fit()
    pd.testing.assert_frame_equal(_without_time(run), _without_time(reference))
    pd.testing.assert_frame_equal(_without_time(run, "updates"), _without_time(reference, "updates"))


def test_a_failed_append_leaves_the_table_whole(tmp_path, monkeypatch):
    import errno

    from rnnlab.files import DiskFullError
    from rnnlab.train import runs

    path = tmp_path / "t.csv"
    runs.append_table(path, [{"a": 1, "b": 0.5}])
    before = path.read_bytes()

    real_open = open

    class _Full:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(data[:3])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(runs, "open", lambda *a, **k: _Full(real_open(*a, **k)), raising=False)
    with pytest.raises(DiskFullError, match="could not write .*t.csv.*no space left"):
        runs.append_table(path, [{"a": 2, "b": 1.5}])
    monkeypatch.undo()
    assert path.read_bytes() == before
    runs.append_table(path, [{"a": 2, "b": float("nan")}, {"a": 3, "b": True}])
    assert path.read_text() == "a,b\n1,0.5\n2,\n3,True\n"
