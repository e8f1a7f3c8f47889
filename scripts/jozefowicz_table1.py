"""Jozefowicz et al. 2015, Table 1 at the architecture search's scale: the ten cells of the study on the
memorization, arithmetic and XML tasks, each with the same random hyperparameter settings from the paper's ranges
(common random numbers): one row per cell, task and setting, the best and mean accuracy per cell and task, and the
paper's orderings tested on both (``rnnlab.search.compare``).

    .venv/bin/python scripts/jozefowicz_table1.py [--settings 40] [--workers 2] [--profile search|smoke]

Writes, under results/jozefowicz2015/ (or --out):
  table1_settings.csv      one row per cell, task and setting, rewritten as each setting finishes, so a killed run
                           loses at most the settings in flight; a rerun (or a larger --settings) trains only the
                           missing rows: setting k's draws do not depend on how many settings are asked for;
  table1_search_scale.csv  best, mean and count per cell and task;
  table1_orderings.csv     each claim of the paper per task: on the bests, with a paired-bootstrap interval, and
                           setting by setting with a sign test.
The cells are written as graphs (rnnlab.cells.graph; each library graph equals its hand-written cell,
tests/test_graph_cells.py); the three LSTM ablations hold the removed gate at 1, as our hand-written
lstm_nof/noi/noo do. The scale (one level of 24 units, a few hundred SGD updates, tasks shrunk) is the search's,
described in docs/search.md: the question is whether the paper's orderings hold (forget gate >> input > output;
LSTM-b >= LSTM; GRU and MUTs >= LSTM), not its absolute accuracies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from rnnlab.cells.graph.library import LIBRARY
from rnnlab.files import atomic_write
from rnnlab.papers import JOZEFOWICZ_ORDERINGS, paper_results
from rnnlab.search.compare import SETTING_COLUMNS, compare_settings, paired_orderings, setting_draws, summarize

ROOT = Path(__file__).resolve().parents[1]
ABLATIONS = {  # the LSTM with one gate removed (held at 1)
    "lstm_nof": "i = sigmoid(lin(x) + lin(h))\ng = tanh(lin(x) + lin(h))\no = sigmoid(lin(x) + lin(h))\n"
                "c' = c + i * g\nh' = o * tanh(c')",
    "lstm_noi": "f = sigmoid(lin(x) + lin(h))\ng = tanh(lin(x) + lin(h))\no = sigmoid(lin(x) + lin(h))\n"
                "c' = f * c + g\nh' = o * tanh(c')",
    "lstm_noo": "i = sigmoid(lin(x) + lin(h))\nf = sigmoid(lin(x) + lin(h))\ng = tanh(lin(x) + lin(h))\n"
                "c' = f * c + i * g\nh' = tanh(c')",
}
_TABLE1 = paper_results().query("paper == 'Jozefowicz 2015' and table == 'Table 1'")
CELLS = tuple(dict.fromkeys(_TABLE1.cell))  # the ten cells of the paper's Table 1, in its order



def write_csv(table: pd.DataFrame, path: Path) -> None:
    with atomic_write(path) as out:
        out.write(table.to_csv(index=False).encode())


def recorded(path: Path, seed: int) -> pd.DataFrame:
    """The rows already in ``path`` whose hyperparameters are still what setting k draws (others are retrained)."""
    if not path.exists():
        return pd.DataFrame(columns=list(SETTING_COLUMNS))
    rows = pd.read_csv(path)
    if list(rows.columns) != list(SETTING_COLUMNS):
        raise SystemExit(f"{path}: columns {list(rows.columns)} are not {list(SETTING_COLUMNS)}; move it aside")
    keep = []
    for task, group in rows.groupby("task", sort=False):
        draws = setting_draws(task, int(group.setting.max()) + 1, seed)
        keep += [i for i, r in group.iterrows() if draws[int(r["setting"])].as_dict() ==
                 dict(lr=r["lr"], init=r["init"], clip=r["clip"], seed=int(r["seed"]))]
    return rows.loc[sorted(keep)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", type=int, default=40, help="random hyperparameter settings per cell and task")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", default="local", choices=("inline", "local", "ray"))
    parser.add_argument("--profile", default="search", choices=("search", "smoke"))
    parser.add_argument("--seed", type=int, default=0, help="seed of the hyperparameter draws")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "jozefowicz2015",
                        help="folder of the three CSV files")
    args = parser.parse_args()
    if args.settings < 1:
        parser.error(f"--settings must be >= 1, got {args.settings}")
    args.out.mkdir(parents=True, exist_ok=True)
    settings_path = args.out / "table1_settings.csv"
    rows = recorded(settings_path, args.seed)
    done = set(zip(rows.cell, rows.task, rows.setting.astype(int), strict=True))
    equations = {name: ABLATIONS.get(name) or LIBRARY[name] for name in CELLS}
    todo = len(CELLS) * 3 * args.settings - len([d for d in done if d[2] < args.settings])
    print(f"{len(done)} settings recorded in {settings_path}; {todo} to train", flush=True)
    table = [rows]

    def record(row: dict) -> None:
        table.append(pd.DataFrame([row]))
        write_csv(pd.concat(table, ignore_index=True), settings_path)

    compare_settings(equations, settings=args.settings, seed=args.seed, profile=args.profile, engine=args.engine,
                     workers=args.workers, done=done, on_row=record)
    every = pd.concat(table, ignore_index=True).sort_values(["cell", "task", "setting"], key=lambda col: col.map(
        {name: k for k, name in enumerate(CELLS)}) if col.name == "cell" else col)
    write_csv(every, settings_path)  # rows past --settings (from an earlier, larger run) are kept, not summarised
    per_setting = every[every.setting < args.settings]
    summary = summarize(per_setting, CELLS)
    write_csv(summary, args.out / "table1_search_scale.csv")
    orderings = paired_orderings(per_setting[per_setting.task != "memorize"], JOZEFOWICZ_ORDERINGS)
    write_csv(orderings, args.out / "table1_orderings.csv")
    print(summary.pivot(index="cell", columns="task", values="best").loc[list(CELLS)].to_string())
    print(orderings.to_string(index=False))
    print(f"wrote {args.out}/table1_settings.csv, table1_search_scale.csv, table1_orderings.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
