"""Second stage of a best-of-draws campaign (Chung et al. 2014's best of 10 learning rates): extend the draws that
were still improving when the first stage's epoch cap stopped them, so early stopping, not the cap, ends every run
that could be the best.

    python scripts/extend_draws.py results/runs/chung2014 --only 'jsb/*' --epochs 1000 --within 1.0          # list
    python scripts/extend_draws.py results/runs/chung2014 --only 'jsb/*' --epochs 1000 --within 1.0 --run    # extend

A draw is extended when all three hold:
  1. it finished with status ok and fewer epochs than the new cap;
  2. it was still improving: its best epoch lies within ``patience`` epochs of its last one, so early stopping had
     not fired; the first stage's cap (or a kill during an earlier extension, whose run is then continued from its
     checkpoint) stopped it;
  3. its best validation NLL is within ``--within`` nats of the best draw of its dataset and model (the same
     spec point without the draw's knob), so a draw that cannot plausibly win is not trained further.
Each extension is ``python -m rnnlab.cli train --notebook --resume --run-dir RUN --epochs N``, run by this script's
own interpreter (no ``rnnlab`` on PATH needed): the run continues from its own record (weights, optimiser, RNG and
early-stopping state), the larger cap is written to its config.json and run.log, and the executed notebook in the run
folder is replaced by the extended run's. Two single-thread runs at a time. A run copied from results/ has no training
checkpoint to continue from: the list marks it, ``--run`` leaves it out (and exits 1), and its point must be rerun
with ``rnnlab sweep`` first.
docs/sweeps.md §"Two-stage draws" gives the rule and why; the report states which runs were extended.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rnnlab.train import checkpoints
from rnnlab.train.results import collect, point_group


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
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "rnnlab.cli", "train", "--notebook", "--resume", "--run-dir", str(run),
               "--epochs", str(epochs), "--quiet"]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode:
        print(f"failed: {run}: {(result.stderr or result.stdout).strip().splitlines()[-1:]}", file=sys.stderr)
    return run, result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="a campaign's run store, e.g. results/runs/chung2014")
    parser.add_argument("--only", default="*", help="points that may be extended (a pattern such as 'jsb/*'); "
                        "the distance is still from the best of all the group's draws")
    parser.add_argument("--epochs", type=int, required=True, help="the second stage's epoch cap")
    parser.add_argument("--within", type=float, default=1.0, help="nats of validation NLL from the best draw")
    parser.add_argument("--workers", type=int, default=2, help="runs at once (one thread each)")
    parser.add_argument("--run", action="store_true", help="extend them (default: only list them)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"no run store at {args.root}")
    chosen = to_extend(draws(args.root), args.within, args.epochs, args.only)
    ready = [r for r in chosen if resumable(r["run"])]
    for r in chosen:
        rerun = "" if r in ready else " · no checkpoint: rerun its point with `rnnlab sweep SPEC --only POINT` first"
        print(f"{r['point']}: best valid {r['best_valid']:.4f} (+{r['gap']:.3f} from its model's best) at epoch "
              f"{r['best_epoch']} of {r['epochs_run']} run{rerun}")
    waiting = len(chosen) - len(ready)
    print(f"{len(chosen)} draws to extend to {args.epochs} epochs" + (f", {waiting} of them without a checkpoint"
                                                                       if waiting else ""))
    if not args.run:
        return 0
    failures = 0
    if ready:
        with ThreadPoolExecutor(args.workers) as pool:
            failures = sum(code != 0 for _, code in pool.map(lambda r: extend(r["run"], args.epochs), ready))
        print(f"extended {len(ready) - failures}, failed {failures}")
    if waiting:
        print(f"left out {waiting} without a checkpoint (rerun their points, then run this again)")
    return 1 if failures or waiting else 0


if __name__ == "__main__":
    sys.exit(main())
