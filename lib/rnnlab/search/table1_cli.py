"""``rnnlab table1``: Jozefowicz et al. 2015, Table 1 at the search's scale (``rnnlab.search.table1``): the ten
cells on the same random settings per task, recorded row by row; a rerun or a larger ``--settings`` trains only the
missing rows.

    rnnlab table1                       # 40 settings per cell and task -> results/jozefowicz2015/ (0.7 CPU h)
    rnnlab table1 --settings 80         # extend the recorded table to 80 settings
    rnnlab table1 --settings 2 --profile smoke --engine inline --out /tmp/t1   # seconds
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.parallel import ENGINES


def add_arguments(parser) -> None:
    parser.add_argument("--settings", type=int, default=40, help="random hyperparameter settings per cell and task")
    parser.add_argument("--workers", type=int, default=2, help="parallel one-thread workers (default 2)")
    parser.add_argument("--engine", default="local", help=f"worker engine: {', '.join(ENGINES)}")
    parser.add_argument("--address", default=None, help="Ray cluster address (engine ray; default $RAY_ADDRESS)")
    parser.add_argument("--profile", default="search", help="sizes: search (the table's) or smoke (seconds)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the hyperparameter draws")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder of the three CSV files (default: results/jozefowicz2015)")


def main(args) -> int:
    from rnnlab.search.table1 import DEFAULT_OUT, run_table1

    run_table1(args.out or DEFAULT_OUT, args.settings, seed=args.seed, profile=args.profile, engine=args.engine,
               workers=args.workers, address=args.address, log=lambda line: print(line, flush=True))
    return 0
