"""Run or resume the architecture search of Jozefowicz et al. 2015 over cells written as graphs.

    rnnlab search --state results/search/state.json --steps 600 --workers 1 --seed 0 --until 11:25
    rnnlab search --state results/search/state.json --show 10          # the top list, no training
    rnnlab search --state results/search/state.json --compare 3 --out results/search/comparison.csv

The state is saved after every evaluation; running the same command again resumes where it stopped. ``--seed``
and ``--profile`` only apply when the state file is created. One search writes a state at a time (a second gets one
line); ``--show`` and ``--compare`` only read it. Ctrl-C, ``kill PID`` (SIGTERM) and SIGHUP end a search with one
line and exit status 130; its state keeps every finished evaluation. See docs/search.md.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import signal
import sys
import time
from pathlib import Path

from rnnlab.errors import RnnlabError, check_choice, check_positive
from rnnlab.parallel import ENGINES


def add_arguments(parser) -> None:
    parser.add_argument("--state", default="results/search/state.json", help="search state JSON (created if absent)")
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps in total")
    parser.add_argument("--workers", type=int, default=1, help="parallel one-thread workers (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of a new search")
    parser.add_argument("--profile", default="search", help="sizes: search (the real run) or smoke (seconds)")
    parser.add_argument("--engine", default="local", help=f"worker engine: {', '.join(ENGINES)}")
    parser.add_argument("--address", default=None, help="Ray cluster address (engine ray; default $RAY_ADDRESS)")
    parser.add_argument("--until", default=None, help="stop starting new work at this local time, HH:MM")
    parser.add_argument("--minutes", type=float, default=None, help="stop starting new work after M minutes")
    parser.add_argument("--show", type=int, default=None, metavar="N", help="print the top N and exit")
    parser.add_argument("--compare", type=int, default=None, metavar="K",
                        help="evaluate the K best found against GRU, LSTM-b and MUT1 and write --out")
    parser.add_argument("--settings", type=int, default=6, help="random settings per task for --compare")
    parser.add_argument("--out", default=None, help="CSV written by --compare (default: beside the state)")


def _deadline(until: str | None, minutes: float | None) -> float | None:
    if until is not None and minutes is not None:
        raise RnnlabError("give either --until or --minutes, not both")
    if minutes is not None:
        if not (math.isfinite(minutes) and minutes > 0):
            raise RnnlabError(f"--minutes must be a finite number > 0, got {minutes}")
        return time.time() + 60 * minutes
    if until is None:
        return None
    try:
        clock = dt.datetime.strptime(until, "%H:%M").time()
    except ValueError:
        raise RnnlabError(f"--until takes a local time HH:MM, got {until!r}") from None
    now = dt.datetime.now()
    target = dt.datetime.combine(now.date(), clock)
    if target <= now:
        target += dt.timedelta(days=1)
    return target.timestamp()


def print_top(state, n: int) -> None:
    summary = state.summary()
    print(f"{summary['candidates']} candidates ({summary['children']} children: {summary['passed_memorize']} "
          f"passed memorization, {summary['passed_all']} passed every task); worker {summary['worker_seconds']} s, "
          f"wall {summary['wall_seconds']} s")
    for rank, c in enumerate(state.top()[:n], 1):
        scores = ", ".join(f"{t} {a:.3f}" for t, a in c["best"].items())
        label = c["name"] or f"#{c['id']}"
        print(f"{rank:2}. {label:6} fitness {state.fitness(c):.3f}  ({scores})")
        for line in c["equations"].splitlines():
            print(f"      {line}")


def main(args) -> int:
    from rnnlab.search.evaluate import PROFILES
    from rnnlab.search.loop import SearchConfig, SearchState, run_search

    check_choice("engine", args.engine, ENGINES)
    check_choice("profile", args.profile, PROFILES)
    check_positive("workers", args.workers)
    check_positive("settings", args.settings)
    if args.steps is not None:
        check_positive("steps", args.steps)
    if args.show is not None:
        check_positive("show", args.show, allow_zero=True)
    if args.compare is not None:
        check_positive("compare", args.compare)
    path = Path(args.state)
    if args.show is not None or args.compare is not None:
        if not path.exists():
            raise RnnlabError(f"no search state at {path}; run `rnnlab search --state {path}` first")
        state = SearchState.load(path)
        if args.show is not None:
            print_top(state, args.show)
        if args.compare is not None:
            from rnnlab.search.compare import compare_best

            out = Path(args.out) if args.out else path.with_name("comparison.csv")
            table = compare_best(state, args.compare, args.settings, engine=args.engine, workers=args.workers,
                                 address=args.address)
            table.to_csv(out, index=False)
            print(table.to_string(index=False))
            print(f"wrote {out}")
        return 0
    deadline = _deadline(args.until, args.minutes)
    config = SearchConfig(seed=args.seed, profile=args.profile, batch=args.workers)

    def report(state):
        s = state.summary()
        best = state.top()[:1]
        lead = f", best #{best[0]['id']} fitness {state.fitness(best[0]):.3f}" if best else ""
        print(f"step {state.step}: {s['candidates']} candidates, {s['passed_memorize']} passed memorization, "
              f"{s['passed_all']} passed all{lead}", flush=True)

    try:
        state = run_search(path, steps=args.steps, config=config, engine=args.engine, workers=args.workers,
                           address=args.address, deadline=deadline, on_step=report)
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM/SIGHUP turned into it: the pool stopped its workers
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C while exiting: no traceback
            signal.signal(signum, signal.SIG_IGN)
        print(f"rnnlab search: interrupted ({str(err) or 'SIGINT'}){_saved_step(path)}; run the same command again to "
              "resume", file=sys.stderr, flush=True)
        return 130
    print_top(state, 5)
    return 0


def _saved_step(path: Path) -> str:
    """`` at step N, saved in PATH`` from the state file, or "" if it cannot be read (an interrupt says no more)."""
    try:
        return f" at step {json.loads(path.read_bytes())['step']}, saved in {path}"
    except Exception:  # noqa: BLE001 - best effort: the one line is printed whatever the file holds
        return ""
