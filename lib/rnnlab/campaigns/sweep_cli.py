"""``rnnlab sweep``: run a sweep from experiments/*.json: every point a papermill execution of notebooks/03_train.ipynb.

  rnnlab sweep experiments/pascanu2014.json --dry-run      (the points and their dependencies)
  rnnlab sweep experiments/pascanu2014.json --workers 2    (a local pool of 1-thread workers)
  rnnlab sweep experiments/chung2014.json --engine ray --address HOST:6379   (or RAY_ADDRESS)
  rnnlab sweep experiments/pascanu2014.json --status       (what the run folders say; runs nothing)

The spec format is in rnnlab.campaigns.spec (and docs/sweeps.md). Each point trains in its own run folder
``<root>/<spec name>/<point name>``, and the executed notebook stays there as the run's readable record.
Re-running a sweep skips finished points (ok, diverged), resumes the others from their last checkpoint, records a
failed point (``point.json``: status failed and the one-line error) and goes on; a point that waits for a failed,
diverged or blocked parent is blocked, not run. A point another process is writing is skipped and said so.
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.campaigns.spec import expand, load_spec
from rnnlab.campaigns.sweep import ENGINES, check_store, format_table, run_sweep, select, sweep_states, table_rows
from rnnlab.train.runs import FINISHED


def add_arguments(parser) -> None:
    parser.add_argument("spec", help="sweep spec (JSON), e.g. experiments/pascanu2014.json")
    parser.add_argument("--root", default=None, help="run store root (default: runs/ or $RNNLAB_RUNS)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes for every point (runs go to <root>/<name>-smoke)")
    parser.add_argument("--engine", default="local", choices=ENGINES,
                        help="local: a pool of 1-thread workers; ray: tasks on a Ray cluster; inline: one after "
                        "another in this process (default: local)")
    parser.add_argument("--workers", type=int, default=None,
                        help="points at once (default: one per core; ray: the cluster's GPUs, else its CPUs)")
    parser.add_argument("--address", default=None,
                        help="Ray cluster address (default: $RAY_ADDRESS; without either a local Ray starts)")
    parser.add_argument("--only", action="append", default=None, metavar="PATTERN",
                        help="run only the points matching this glob or name prefix (and their parents); "
                        "repeatable, e.g. --only 'jsb/*'")
    parser.add_argument("--dry-run", action="store_true", help="list the points and their dependencies and exit")
    parser.add_argument("--status", action="store_true",
                        help="summarise the sweep from its run folders, run nothing")


def main(args) -> int:
    from rnnlab.errors import check_positive

    if args.workers is not None:
        check_positive("workers", args.workers)
    spec = load_spec(args.spec)
    points = select(expand(spec, root=args.root, smoke=args.smoke), args.only)
    if args.dry_run:
        for point in points:
            print(point.name + (f"    (after {point.after})" if point.after else ""))
        print(f"{len(points)} point{'s' if len(points) != 1 else ''} under "
              f"{points[0].run_dir.parents[len(Path(points[0].name).parts) - 1]}")
        return 0
    if args.status:
        check_store(spec, points)
        states = sweep_states(points)
        print(format_table(table_rows(points, states)))
        return 0
    try:
        rows = run_sweep(spec, root=args.root, smoke=args.smoke, engine=args.engine, workers=args.workers,
                         address=args.address, only=args.only)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP turned into it: run_sweep said how to resume; no traceback
        return 130
    print(format_table(rows))
    return 0 if all(row["status"] in FINISHED for row in rows) else 1
