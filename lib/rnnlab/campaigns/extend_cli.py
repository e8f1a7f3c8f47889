"""``rnnlab extend``: the second stage of a best-of-draws campaign (``rnnlab.campaigns.extend``): list the draws that
the first stage's epoch cap stopped while still improving and in reach of their model's best, and with ``--run``
continue them to early stopping.

    rnnlab extend results/runs/chung2014 --only 'jsb/*' --epochs 1000 --within 1.0          # list them
    rnnlab extend results/runs/chung2014 --only 'jsb/*' --epochs 1000 --within 1.0 --run    # extend them
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.campaigns.extend import draws, extend_all, resumable, to_extend
from rnnlab.errors import RnnlabError, check_positive


def add_arguments(parser) -> None:
    parser.add_argument("root", type=Path, help="a campaign's run store, e.g. results/runs/chung2014")
    parser.add_argument("--only", default="*", help="points that may be extended (a pattern such as 'jsb/*'); "
                        "the distance is still from the best of all the group's draws")
    parser.add_argument("--epochs", type=int, required=True, help="the second stage's epoch cap")
    parser.add_argument("--within", type=float, default=1.0, help="nats of validation NLL from the best draw")
    parser.add_argument("--workers", type=int, default=2, help="runs at once (one thread each)")
    parser.add_argument("--engine", choices=("local", "inline"), default="local",
                        help="local: a pool of one-thread worker processes; inline: one after another in this "
                        "process (debugging)")
    parser.add_argument("--run", action="store_true", help="extend them (default: only list them)")


def main(args) -> int:
    if not args.root.is_dir():
        raise RnnlabError(f"no run store at {str(args.root)!r}"
                          + ("" if args.root.exists() else " (it does not exist)"))
    check_positive("workers", args.workers)
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
        try:
            failures = extend_all([r["run"] for r in ready], args.epochs, args.engine, args.workers)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP turned into it by the pool: its workers are gone
            print("interrupted: run the same command again to continue the extensions", flush=True)
            return 130
        print(f"extended {len(ready) - failures}, failed {failures}")
    if waiting:
        print(f"left out {waiting} without a checkpoint (rerun their points, then run this again)")
    return 1 if failures or waiting else 0

