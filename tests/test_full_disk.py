"""A full disk (ENOSPC, EFBIG, EDQUOT) at any write: one line naming the file and the free space, the file's
previous version intact, the failure recorded in run.log / point.json when that still fits (issue 26).

A full disk is simulated without root: a subprocess under ``RLIMIT_FSIZE`` with SIGXFSZ ignored (every write past
the limit raises EFBIG), or the low-level write made to raise ENOSPC in-process."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnlab import files
from rnnlab.files import DiskFullError, atomic_write
from rnnlab.train import TrainConfig

PROJECT = Path(__file__).resolve().parents[1]
TRAIN = ["train", "--dataset", "arithmetic", "--cell", "gru", "--hidden", "8", "--batch-size", "4", "--epochs", "2",
         "--max-updates-per-epoch", "3", "--max-eval-sequences", "8", "--device", "cpu", "--quiet"]
LIMITED = """
import resource, signal, sys
limit = int(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from rnnlab.cli import main
sys.exit(main(sys.argv[2:]))
"""


def limited(limit: int, *argv: str) -> subprocess.CompletedProcess:
    """``rnnlab ARGV`` in a subprocess that may write no file larger than ``limit`` bytes."""
    return subprocess.run([sys.executable, "-c", LIMITED, str(limit), *argv], capture_output=True, text=True,
                          cwd=PROJECT, timeout=300)


class _FullHandle:
    """A file whose writes fail as on a full disk after ``room`` bytes."""

    def __init__(self, handle, room: int, code: int):
        self.handle, self.room, self.code = handle, room, code

    def write(self, data):
        if len(data) > self.room:
            self.handle.write(bytes(data[:self.room]))
            self.room = 0
            raise OSError(self.code, os.strerror(self.code))
        self.room -= len(data)
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def full_disk(monkeypatch, room: int = 0, code: int = errno.ENOSPC) -> None:
    """Make every ``atomic_write`` fail after ``room`` bytes, as a full disk does."""
    real = os.fdopen
    monkeypatch.setattr(files.os, "fdopen", lambda fd, *a, **k: _FullHandle(real(fd, *a, **k), room, code))


# ----------------------------------------------------------------------------------------------- atomic_write
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EDQUOT])
@pytest.mark.parametrize("room", [0, 5, 4096])
def test_a_full_disk_keeps_the_old_file_and_says_one_line_naming_it(tmp_path, monkeypatch, code, room):
    target = tmp_path / "deep" / "record.json"
    target.parent.mkdir()
    target.write_text("the old version\n")
    full_disk(monkeypatch, room, code)
    with pytest.raises(DiskFullError) as caught:
        with atomic_write(target) as handle:
            handle.write(b"x" * 10_000)
    message = str(caught.value)
    assert "\n" not in message and repr(str(target)) in message and " free" in message, message
    assert target.read_text() == "the old version\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["record.json"]  # no temporary left


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o664, 0o444])
def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path, mode):
    path = tmp_path / "state.json"
    path.write_text("old")
    path.chmod(mode)
    with atomic_write(path) as handle:
        handle.write(b"new")
    assert path.read_text() == "new" and path.stat().st_mode & 0o7777 == mode


def test_atomic_write_gives_a_new_file_the_umask_default(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "new.json") as handle:
            handle.write(b"{}")
    finally:
        os.umask(old)
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o640


def test_atomic_write_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else fd)
        return real(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    with atomic_write(tmp_path / "a.txt") as handle:
        handle.write(b"hello")
    assert (tmp_path / "a.txt").read_bytes() == b"hello" and len(synced) == 2
    if os.path.exists("/proc/self/fd"):
        assert synced[1] == str(tmp_path)


# ------------------------------------------------------------------------------------------------- training
@pytest.mark.slow
@pytest.mark.parametrize("limit", [300, 3_000, 30_000])
def test_training_on_a_full_disk_ends_with_one_line_and_a_run_log_entry(tmp_path, limit):
    """Different limits fail different files (config.json, best.pt, last.pt, the tables)."""
    run = tmp_path / "run"
    done = limited(limit, *TRAIN, "--run-dir", str(run))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith(f"rnnlab train: error: could not write '{run}/") and " free" in lines[0], lines
    failed = str(Path(lines[0].split("'")[1]).relative_to(run))
    log = (run / "run.log").read_text().splitlines()
    assert log[-1].split(" ", 2)[2].startswith(f"failed: could not write '{failed}'"), log
    for path in run.rglob("*"):  # what is there is whole: no temporary, no torn file
        assert not path.name.endswith(".tmp"), path
        if path.suffix == ".json":
            json.loads(path.read_text())


def test_a_checkpoint_on_a_full_disk_is_one_line_recorded_in_run_log(tmp_path, monkeypatch):
    from rnnlab.train.record import RunRecord

    record = RunRecord("toy", run_dir=tmp_path / "run")
    config = TrainConfig(dataset="arithmetic", cell="gru", hidden=8)
    record.save_best({"w": __import__("torch").zeros(3)}, 1, config)
    before = record.best_path.read_bytes()
    full_disk(monkeypatch, room=400)  # the small run.log fits, the checkpoint does not
    with pytest.raises(DiskFullError, match=r"could not write '.*checkpoints/best.pt': no space left"):
        record.save_best({"w": __import__("torch").zeros(10_000)}, 2, config)
    monkeypatch.undo()
    assert record.best_path.read_bytes() == before
    assert "failed: could not write 'checkpoints/best.pt'" in (tmp_path / "run" / "run.log").read_text()
    record.release()


def test_when_even_run_log_cannot_be_written_stderr_says_so(tmp_path, monkeypatch, capsys):
    from rnnlab.train.record import RunRecord

    record = RunRecord("toy", run_dir=tmp_path / "run")
    full_disk(monkeypatch)
    with pytest.raises(DiskFullError):
        record.write_summary({"status": "ok"})
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not record the failure" in err[0] and "run.log" in err[0], err
    assert not (tmp_path / "run" / "summary.json").exists()
    record.release()


def test_run_log_lines_are_appended_whole(tmp_path, monkeypatch):
    from rnnlab.train.runs import append_log

    append_log(tmp_path, "first")
    (tmp_path / "run.log").write_bytes((tmp_path / "run.log").read_bytes() + b"a torn li")  # a kill mid-line
    append_log(tmp_path, "second")
    lines = (tmp_path / "run.log").read_text().splitlines()
    assert lines[1] == "a torn li" and lines[2].endswith(" second")
    full_disk(monkeypatch, room=10)
    with pytest.raises(DiskFullError):
        append_log(tmp_path, "third")
    assert (tmp_path / "run.log").read_text().splitlines() == lines


# ---------------------------------------------------------------------------------------------------- sweeps
def test_a_torn_executed_notebook_is_dropped_not_kept(tmp_path, capsys):
    from rnnlab.train.notebook_run import NOTEBOOK, keep_executed_copy

    run = tmp_path / "run"
    for number, torn in enumerate([b'{"cells": [{"source": "x"', b"", b"\x00\x01", b"[]", b'{"cells": 3}']):
        scratch = tmp_path / f".run.{number}.{NOTEBOOK}"
        scratch.write_bytes(torn)
        keep_executed_copy(str(scratch), run)
        assert not scratch.exists() and not (run / NOTEBOOK).exists()
    assert capsys.readouterr().err.count("dropped the executed notebook") == 5
    scratch = tmp_path / f".run.ok.{NOTEBOOK}"
    scratch.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    keep_executed_copy(str(scratch), run)
    assert json.loads((run / NOTEBOOK).read_text())["cells"] == []


@pytest.mark.parametrize("raised", [OSError(errno.ENOSPC, "No space left on device", "/x/y.ipynb"),
                                    OSError(errno.EFBIG, "File too large"),
                                    DiskFullError("could not write '/x/summary.json': no space left on device "
                                                  "(0 bytes free on its disk)")])
@pytest.mark.parametrize("point_file_fits", [True, False])
def test_a_point_on_a_full_disk_fails_with_one_line_and_the_sweep_goes_on(tmp_path, monkeypatch, capsys, raised,
                                                                         point_file_fits):
    from rnnlab.campaigns import sweep

    def execute(parameters, run_dir, **kwargs):
        raise raised

    monkeypatch.setattr(sweep, "execute_training_notebook", execute)
    if not point_file_fits:
        full_disk(monkeypatch)
    record = sweep.run_point({"name": "p", "run_dir": str(tmp_path / "p"), "knobs": {}, "smoke": True})
    assert record["status"] == "failed" and "\n" not in record["message"]
    assert record["message"].startswith("DiskFullError: could not write") and " free" in record["message"]
    point = tmp_path / "p" / sweep.POINT_FILE
    if point_file_fits:
        assert json.loads(point.read_text())["message"] == record["message"]
    else:
        assert not point.exists()
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "could not record p's failure" in err[0], err


SWEEP = """
import resource, signal, sys
sys.path.insert(0, {project!r})
from tests.test_sweep import TINY
from rnnlab.campaigns.sweep import run_sweep, format_table
limit, root = int(sys.argv[1]), sys.argv[2]
spec = {{"name": "s", "base": TINY, "models": {{"a": {{}}, "b": {{"lr": 0.05}}, "c": {{"lr": 0.02}}}}}}
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
print(format_table(run_sweep(spec, root=root, smoke=True, engine="inline", stream=sys.stderr)))
"""


@pytest.mark.slow
@pytest.mark.parametrize("limit", [3_000, 16_000, 30_000])  # 30,000: the notebook's figure write fails
def test_a_sweep_on_a_full_disk_records_every_point_and_leaves_no_torn_notebook(tmp_path, limit):
    done = subprocess.run([sys.executable, "-c", SWEEP.format(project=str(PROJECT)), str(limit), str(tmp_path)],
                          capture_output=True, text=True, cwd=PROJECT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("a", "b", "c"):  # every point was tried, and each says why it failed
        run = tmp_path / "s-smoke" / name
        point = json.loads((run / "point.json").read_text())
        assert point["status"] == "failed" and "could not write" in point["message"], point
        assert " free" in point["message"] and f"failed {name}: DiskFullError" in done.stdout
        notebook = run / "03_train.ipynb"
        if notebook.exists():
            json.loads(notebook.read_text())  # a whole notebook, or none
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob("*.partial"))


# --------------------------------------------------------------------------------------------------- publish
@pytest.mark.slow
def test_publishing_onto_a_full_disk_changes_nothing_and_names_the_file(tmp_path):
    """Limits below the size of each published file fail at different files; nothing visible changes."""
    import shutil

    from rnnlab.campaigns.results import publish
    from rnnlab.train.trainer import Trainer

    store = tmp_path / "store"
    knobs = dict(dataset="arithmetic", cell="gru", hidden=8, batch_size=4, bptt=None, epochs=2,
                 max_updates_per_epoch=3, max_eval_sequences=8, device="cpu",
                 task_knobs={"n_train": 32, "n_valid": 8, "n_test": 8, "max_digits": 2})
    for seed, point in enumerate(("a/lr=1", "a/lr=2")):
        Trainer(TrainConfig(**knobs, seed=seed), run_dir=store / point, progress=False).fit()
    out = tmp_path / "results" / "pascanu2014"
    publish(store, out)
    for point in ("a/lr=1", "a/lr=2"):  # a newer record of every point
        summary = json.loads((store / point / "summary.json").read_text())
        (store / point / "summary.json").write_text(json.dumps({**summary, "commit": "newer"}, indent=2))
    publish(store, tmp_path / "sizes" / "pascanu2014")  # what the command publishes (no checkpoint here)
    sizes = sorted({p.stat().st_size for p in (tmp_path / "sizes").rglob("*") if p.is_file()})
    before = {p: p.read_bytes() for p in sorted(tmp_path.joinpath("results").rglob("*")) if p.is_file()}
    named = set()
    for limit in sorted({sizes[0] - 1, sizes[len(sizes) // 2] - 1, sizes[-1] - 1}):
        done = limited(limit, "report", "--paper", "pascanu2014", "--root", str(store), "--publish",
                       str(out.parent))
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, (limit, done.stderr)
        assert lines[0].startswith(f"rnnlab report: error: could not write '{out.parent}") and " free" in lines[0]
        assert ".publish-" not in lines[0] and str(store) not in lines[0]
        named.add(lines[0].split("'")[1])
        after = {p: p.read_bytes() for p in sorted(tmp_path.joinpath("results").rglob("*")) if p.is_file()}
        assert after == before, limit
        assert sorted(p.name for p in out.parent.iterdir()) == ["pascanu2014", "pascanu2014.csv"]
    assert len(named) >= 2  # different files failed
    shutil.rmtree(tmp_path / "sizes")
