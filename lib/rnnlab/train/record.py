"""A run's record on disk, from the first write to the last: the folder, its lock, its log, ``config.json``, the
checkpoints, the metric tables and ``summary.json`` (the files are listed in ``rnnlab.train.runs``).

The trainer (``rnnlab.train.trainer``) owns the training state and the loop; this module owns the lifecycle of the
folder it writes:

* ``RunRecord(...)`` chooses the folder (a new one under ``root``, or the given ``run_dir``), refuses one that lies
  inside another run's record, and takes its lock (``rnnlab.train.lock``) for as long as the trainer writes it;
* ``open(config, resume)`` checks what the folder already holds against ``resume``, finds the checkpoint to continue
  from (``last.pt``, else ``previous.pt``), decides whether a resumed run is already finished, and writes
  ``config.json``;
* ``save_best`` / ``save_last`` / ``write_summary`` write the rest, each atomically; ``write_tables`` appends each
  epoch's rows to ``metrics.csv`` and ``updates.csv`` (``rnnlab.train.runs``, "Tables"), and a resume cuts them back
  to the rows of its checkpoint, which holds only their counts (``last.pt`` stays the same size however long the run).

Nothing in a record names the machine that wrote it (``rnnlab.train.portable``): ``summary.json`` carries no host
name and no absolute path (the folder is where the record is; ``rnnlab.train.runs.load`` adds it when reading),
``config.json``'s ``init_from`` is relative to the run's folder, and ``run.log`` names the folder's own files
relative to it (the line printed on stdout keeps the full path).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.files import DiskFullError
from rnnlab.train import checkpoints
from rnnlab.train.config import EXTENSIBLE_KNOBS, TrainConfig, check_resume_knobs
from rnnlab.train.lock import RunLock
from rnnlab.train.portable import portable_config, portable_log, relative_init_from
from rnnlab.train.runs import (
    FINISHED,
    append_log,
    append_table,
    atomic_write_json,
    atomic_write_text,
    count_rows,
    new_run_dir,
    read_config,
    read_summary,
    read_table_rows,
    table_text,
    truncate_table,
)


@dataclass
class Opened:
    """What ``RunRecord.open`` found: the checkpoint to continue from (``state`` and its ``path``, or None for a new
    run), the knobs a resume extends, whether an extension had been interrupted (``stale``), and the summary of a
    run that is already finished (``finished``: then there is nothing to train)."""

    state: dict | None = None
    path: Path | None = None
    extended: list[str] = field(default_factory=list)
    stale: bool = False
    finished: dict | None = None


class RunRecord:
    """The folder of one run, locked for one writer. ``name`` labels new folders and log lines."""

    def __init__(self, name: str, run_dir: str | Path | None = None, root: str | Path | None = None,
                 resume: bool | str = False):
        if resume is True and not Path(run_dir).is_dir():
            raise RnnlabError(f"run folder {str(run_dir)!r} does not exist; nothing to resume")
        if run_dir is not None:
            refuse_inside_a_run(Path(run_dir))
        elif root is not None:
            refuse_inside_a_run(Path(root) / "new-run")  # the root itself must not be (inside) a run record
        self.name = name
        if run_dir is None:
            self.run_dir = new_run_dir(root, name)
        else:
            self.run_dir = Path(run_dir)
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self.lock = RunLock(self.run_dir).acquire()
        self._written: dict[str, int] = {}  # rows of each table on disk (appended since this record was opened)

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def best_path(self) -> Path:
        return self.checkpoint_dir / checkpoints.BEST

    def log(self, line: str) -> None:
        """One line to the run's ``run.log`` (its folder's paths relative to it) and to stdout (as given)."""
        with self.failing_on_full_disk():
            append_log(self.run_dir, portable_log(line, self.run_dir))
        print(f"[{self.name}] {line}", flush=True)

    @contextlib.contextmanager
    def failing_on_full_disk(self):
        """Around a write of the record: a full disk (``DiskFullError``, one line naming the file and the free
        space), or another failed write, is recorded in run.log when that small write still fits (else stderr says
        so), and re-raised."""
        try:
            yield
        except (DiskFullError, OSError) as err:  # a full disk; a file that is a folder, no permission, ...
            if Path(str(err.filename or "")).resolve() == (self.run_dir / "run.log").resolve():
                raise  # run.log itself failed: the error names it, there is nowhere to record it
            if isinstance(err, DiskFullError) or not err.filename:
                self.record_failure(err)
            else:
                self.record_failure(f"{err.strerror or err}: {err.filename!r}")
            raise

    def record_failure(self, err: BaseException | str) -> None:
        """``failed: <err>`` in run.log; when even that cannot be written, one line on stderr says so."""
        line = portable_log(f"failed: {err}", self.run_dir)
        try:
            append_log(self.run_dir, line)
        except (OSError, RnnlabError) as log_err:
            print(f"rnnlab: could not record the failure in {str(self.run_dir / 'run.log')!r} either: {log_err}",
                  file=sys.stderr, flush=True)

    def release(self) -> None:
        self.lock.release()

    # -------------------------------------------------------------------------------------------------- opening
    def open(self, config: TrainConfig, resume: bool | str, device=None, pretrained: list[str] = (),
             n_tensors: int = 0) -> Opened:
        """Check what the folder holds against ``resume``; find the checkpoint to continue from; write
        ``config.json`` (unless the run is already finished). ``pretrained`` names the parameters copied from
        ``config.init_from`` into a model of ``n_tensors`` parameter tensors (logged for a new run)."""
        recorded = read_config(self.run_dir) if (self.run_dir / "config.json").exists() else None
        summary = read_summary(self.run_dir)
        if not resume and (recorded is not None or summary is not None):
            status = (summary or {}).get("status", "unfinished")
            raise RnnlabError(f"run_dir {str(self.run_dir)!r} already holds a run (status {status!r}); resume it "
                              "or choose another run_dir")
        if recorded is not None:
            check_resume_knobs(recorded, config.to_dict(), self.run_dir)
        table_rows = (count_rows(self.run_dir / "metrics.csv"), count_rows(self.run_dir / "updates.csv"))
        found = checkpoints.read_latest(self.checkpoint_dir, config, device, log=self.log, table_rows=table_rows) \
            if resume and recorded is not None else None
        if resume is True and found is None:
            raise RnnlabError(f"run folder {str(self.run_dir)!r} has no checkpoint to resume from "
                              f"({_no_checkpoint_reason(recorded, summary)}); start a new run instead")
        opened = Opened()
        if found is not None:
            opened.state, opened.path = found
            if self.best_path.exists():  # the test metric comes from it at the end: refuse a bad one now
                checkpoints.read(self.best_path, config, device)
            opened.extended = [f"{k} {getattr(recorded, k)} -> {getattr(config, k)}" for k in EXTENSIBLE_KNOBS
                               if getattr(recorded, k) != getattr(config, k)]
            # A summary older than the checkpoint belongs to the run before an extension that was then killed:
            # the run is not finished, it continues from the checkpoint.
            opened.stale = summary is not None and isinstance(summary.get("epochs_run"), int) \
                and opened.state["epoch"] > summary["epochs_run"]
            if summary and summary.get("status") in FINISHED and not opened.extended and not opened.stale:
                self._restore_tables(opened.state, cut=False)  # read only: a finished record is left as it is
                opened.finished = summary
                print(f"[{self.name}] {self.run_dir} already finished (status {summary['status']!r}); "
                      "nothing to resume (raise epochs or patience to extend it)", flush=True)
                return opened
            self._restore_tables(opened.state)
            self.log(f"resumed from {opened.path.name} at epoch {opened.state['epoch']}"
                     + (f"; extended {', '.join(opened.extended)}" if opened.extended else "")
                     + (f"; its summary.json (epoch {summary['epochs_run']}) predates this checkpoint, so an "
                        "extension was interrupted" if opened.stale else ""))
        else:
            self.log(f"started {self.name} (seed {config.seed}, pid {os.getpid()})")
            if pretrained:
                source = relative_init_from(config.init_from, self.run_dir.resolve())
                self.log(f"initialised {len(pretrained)} of {n_tensors} parameters from {source} "
                         f"(lr x {config.pretrained_lr_scale}): {', '.join(pretrained)}")
        recorded_config = portable_config(config.to_dict(), self.run_dir.resolve())  # init_from relative to the run
        with self.failing_on_full_disk():
            atomic_write_text(self.run_dir / "config.json",
                              json.dumps(recorded_config, indent=2, sort_keys=True) + "\n")
        return opened

    # -------------------------------------------------------------------------------------------------- writing
    # Each write is atomic (``rnnlab.files.atomic_write``): on a full disk the file keeps its previous version and
    # the run stops with one line naming the file and the free space, recorded in run.log.
    def save_best(self, model_state: dict, epoch: int, config: TrainConfig) -> None:
        with self.failing_on_full_disk():
            checkpoints.save(self.checkpoint_dir, checkpoints.BEST, {"model": model_state, "epoch": epoch}, config)

    def save_last(self, state: dict, config: TrainConfig) -> None:
        with self.failing_on_full_disk():
            checkpoints.save(self.checkpoint_dir, checkpoints.LAST, state, config)

    def write_tables(self, history: list[dict], update_rows: list[dict]) -> None:
        """Bring ``metrics.csv`` and ``updates.csv`` up to ``history`` and ``update_rows`` (the run's rows so far):
        the rows not yet written are appended in one write each, so an epoch costs the same at epoch 1 and 1,000.
        Write the tables before the checkpoint they belong to (a resume cuts away rows beyond its checkpoint)."""
        with self.failing_on_full_disk():
            for name, rows in (("metrics.csv", history), ("updates.csv", update_rows)):
                path = self.run_dir / name
                written = self._written.get(name)
                try:
                    if written is None or written > len(rows):
                        raise ValueError("not appended yet")
                    append_table(path, rows[written:])
                except ValueError:  # a new table, or a column it lacks: written whole, once
                    atomic_write_text(path, table_text(rows))
                self._written[name] = len(rows)

    def _restore_tables(self, state: dict, cut: bool = True) -> None:
        """Make the tables hold exactly the rows of the checkpoint ``state`` and put those rows into it.

        A checkpoint written before the tables were appended to carries every row itself (``history``,
        ``update_rows``): the tables are rewritten from it. A newer one holds only the counts (``epoch``,
        ``updates``): the tables are cut to that many rows (a killed run may have appended an epoch beyond its
        last checkpoint; ``cut=False`` leaves them as they are) and read back."""
        if "history" not in state:
            state["history"] = read_table_rows(self.run_dir / "metrics.csv", state["epoch"])
            state["update_rows"] = read_table_rows(self.run_dir / "updates.csv", state["updates"])
            if cut:
                with self.failing_on_full_disk():
                    truncate_table(self.run_dir / "metrics.csv", state["epoch"])
                    truncate_table(self.run_dir / "updates.csv", state["updates"])
            self._written = {"metrics.csv": state["epoch"], "updates.csv": state["updates"]}
        else:
            self._written = {}  # the next write_tables rewrites both whole from the checkpoint's rows

    def write_summary(self, summary: dict) -> None:
        with self.failing_on_full_disk():
            atomic_write_json(self.run_dir / "summary.json", summary)


def provenance() -> dict:
    """The software a run ran with, for its summary: versions and the project's commit (no host, no paths)."""
    import torch

    import rnnlab

    return {"rnnlab_version": rnnlab.__version__, "torch_version": torch.__version__, "commit": project_commit()}


def _no_checkpoint_reason(recorded, summary: dict | None) -> str:
    """Why a run folder has nothing to resume from, for the refusal's one line."""
    if recorded is None:
        return "no config.json"
    if summary is not None and summary.get("status") in FINISHED:
        return (f"it finished (status {summary['status']!r}) but its training checkpoints are gone, as in a run "
                "copied from results/ (it keeps no last.pt)")
    return "killed before its first checkpoint"


def refuse_inside_a_run(folder: Path) -> None:
    """One line when ``folder`` lies inside another run's record (its folder, its checkpoints/, ...)."""
    for parent in Path(folder).resolve().parents:
        if (parent / "config.json").is_file() and ((parent / "checkpoints").is_dir() or (parent / "run.log").exists()):
            raise RnnlabError(f"{str(folder)!r} lies inside the run record {str(parent)!r}; choose a folder outside it")


def project_commit() -> str | None:
    """The project's git commit (with "+dirty" when tracked files changed), or None outside a checkout."""
    from rnnlab.paths import PROJECT_ROOT

    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
