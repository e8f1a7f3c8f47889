"""The best cells a search found against GRU, LSTM-b and MUT1, on the same tasks with the same random settings.

Every cell is trained on every task (memorize, arithmetic, XML at the search's scale) with the SAME ``settings``
hyperparameter draws (common random numbers: the comparison is not decided by luckier draws), and the table gives
per cell and task the best and the mean accuracy over the settings, and the ratio of the best to the GRU's best.
"""

from __future__ import annotations

import random

import pandas as pd

from rnnlab.cells.graph import library_graph
from rnnlab.parallel import WorkerPool
from rnnlab.search.evaluate import run_job, sample_hyperparameters
from rnnlab.search.loop import FILTER, TASKS

BASELINES = ("gru", "lstm_b", "mut1")


def compare_cells(cells: dict[str, str], settings: int = 6, seed: int = 0, profile: str = "search",
                  engine: str = "inline", workers: int = 1, address: str | None = None) -> pd.DataFrame:
    """Train every cell ``{name: equations}`` on every task with the same ``settings`` random settings."""
    tasks = (FILTER, *TASKS)
    rng = random.Random(f"compare/{seed}")
    draws = {t: [sample_hyperparameters(rng).as_dict() for _ in range(settings)] for t in tasks}
    jobs = [dict(id=f"{name}/{task}", equations=equations, order=[task], settings={task: draws[task]},
                 thresholds={}, profile=profile) for name, equations in cells.items() for task in tasks]
    rows = []
    with WorkerPool(engine, workers, address) as pool:
        for index, result in pool.map_unordered(run_job, jobs):
            name, task = jobs[index]["id"].split("/")
            scores = result["scores"][task]
            rows.append(dict(cell=name, task=task, best=max(scores), mean=round(sum(scores) / len(scores), 4),
                             settings=len(scores), seconds=result["seconds"], equations=cells[name]))
    table = pd.DataFrame(rows)
    gru = table[table.cell == "gru"].set_index("task")["best"] if "gru" in cells else None
    if gru is not None:
        table["best_vs_gru"] = [round(b / gru[t], 3) if gru[t] else None for b, t in zip(table.best, table.task,
                                                                                          strict=True)]
    order = {name: k for k, name in enumerate(cells)}
    table = table.sort_values(["cell", "task"], key=lambda col: col.map(order) if col.name == "cell" else
                              col.map({t: k for k, t in enumerate(tasks)})).reset_index(drop=True)
    return table


def compare_best(state, k: int = 3, settings: int = 6, engine: str = "inline", workers: int = 1,
                 address: str | None = None) -> pd.DataFrame:
    """The ``k`` fittest children of a search against the baselines (see ``compare_cells``)."""
    found = [c for c in state.top() if c["kind"] == "child"][:k]
    cells = {f"found{c['id']}": c["equations"] for c in found}
    cells.update({name: library_graph(name).canonical() for name in BASELINES})
    return compare_cells(cells, settings, state.config.seed, state.config.profile, engine, workers, address)
