"""Second stage of a best-of-draws campaign (Chung et al. 2014's best of 10 learning rates): extend the draws that
were still improving when the first stage's epoch cap stopped them, so early stopping, not the cap, ends every run
that could be the best.

    rnnlab extend results/runs/chung2014 --only 'jsb/*' --epochs 1000 --within 1.0          # list
    rnnlab extend results/runs/chung2014 --only 'jsb/*' --epochs 1000 --within 1.0 --run    # extend

A draw is extended when all three hold:
  1. it finished with status ok and fewer epochs than the new cap;
  2. it was still improving: its best epoch lies within ``patience`` epochs of its last one, so early stopping had
     not fired; the first stage's cap (or a kill during an earlier extension, whose run is then continued from its
     checkpoint) stopped it;
  3. its best validation NLL is within ``--within`` nats of the best draw of its dataset and model (the same
     spec point without the draw's knob), so a draw that cannot plausibly win is not trained further.
Each extension is ``rnnlab train --notebook --resume --run-dir RUN --epochs N``, called inside a worker of a local
pool (``rnnlab.parallel.WorkerPool``: one thread each, two at a time by default; no ``rnnlab`` on PATH needed): the run
continues from its own record (weights, optimiser, RNG and early-stopping state), the larger cap is written to its
config.json and run.log, and the executed notebook in the run folder is replaced by the extended run's. Ctrl-C or
``kill PID`` stops the workers and their kernels with the script; run the same command again and each run resumes
from its checkpoint. A run copied from results/ has no training checkpoint to continue from: the list marks it,
``--run`` leaves it out (and exits 1), and its point must be rerun with ``rnnlab sweep`` first.
docs/sweeps.md §"Two-stage draws" gives the rule and why; the report states which runs were extended.
"""

from __future__ import annotations

import fnmatch
import sys
from functools import partial
from pathlib import Path

from rnnlab.campaigns.results import collect, point_group
from rnnlab.parallel import WorkerPool
from rnnlab.train import checkpoints


def draws(root: Path) -> list[dict]:
    """Every run under ``root``, as rows of ``results.collect`` plus their folder (``run``) and their group (the point
    without its draw)."""
    table = collect(root)
    table = table.assign(group=point_group(table.point))
    return [{**row, "run": root / row["point"]}
            for row in table.astype(object).where(table.notna(), None).to_dict("records")]


def to_extend(rows: list[dict], within: float, epochs: int, pattern: str = "*") -> list[dict]:
    """The draws matching ``pattern`` that the three rules of the module docstring select, each with its gap, in order
    of best valid. The gap is measured from the best of *all* the group's draws in ``rows``, matching or not, so a
    narrow pattern (one draw) does not make that draw its own group's best."""
    ok = [r for r in rows if r["status"] == "ok" and r["best_valid"] is not None]
    best = {}
    for r in ok:
        best[r["group"]] = min(best.get(r["group"], float("inf")), r["best_valid"])
    chosen = []
    for r in sorted((r for r in ok if fnmatch.fnmatch(r["point"], pattern)), key=lambda r: r["best_valid"]):
        short = r["epochs_run"] < epochs
        improving = r["best_epoch"] is not None and r["epochs_run"] - r["best_epoch"] < r["patience"]
        close = r["best_valid"] <= best[r["group"]] + within
        if short and improving and close:
            chosen.append({**r, "gap": r["best_valid"] - best[r["group"]]})
    return chosen


def resumable(run: Path) -> bool:
    """Whether the run keeps a training checkpoint to continue from (runs published to results/ keep none)."""
    return any((run / "checkpoints" / name).is_file() for name in (checkpoints.LAST, checkpoints.PREVIOUS))


def extend(run: Path, epochs: int) -> tuple[Path, int]:
    """Continue ``run`` to ``epochs`` in this process (a pool's worker); return it with ``rnnlab train``'s exit code
    (its error, if any, is already printed). In-process, so stopping the worker stops the training and its kernel."""
    import argparse

    from rnnlab.errors import RnnlabError
    from rnnlab.train import cli as train_cli

    parser = argparse.ArgumentParser(prog="rnnlab train")
    train_cli.add_arguments(parser)
    args = parser.parse_args(["--notebook", "--resume", "--run-dir", str(run), "--epochs", str(epochs), "--quiet"])
    try:
        return run, train_cli.main(args)
    except RnnlabError as err:
        print(f"rnnlab train: error: {err}", file=sys.stderr, flush=True)
        return run, 2


def extend_all(runs: list[Path], epochs: int, engine: str, workers: int) -> int:
    """Extend ``runs`` on a pool of ``workers``; return how many failed."""
    failures = 0
    with WorkerPool(engine, workers) as pool:
        jobs = {pool.submit(partial(extend, epochs=epochs), run): run for run in runs}
        while pool.pending:
            job, ok, value = pool.next_finished()
            if not ok or value[1] != 0:
                failures += 1
                why = f"{type(value).__name__}: {value}" if not ok else f"rnnlab train exited {value[1]}"
                print(f"failed: {jobs[job]}: {why}", file=sys.stderr, flush=True)
    return failures
