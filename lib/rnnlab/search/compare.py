"""Cells side by side on the search's tasks with the same random settings (common random numbers).

Every cell is trained on every task (memorize, arithmetic, XML at the search's scale) with the SAME hyperparameter
draws, so the comparison is not decided by luckier draws. ``compare_settings`` gives one row per cell, task and
setting; ``summarize`` the best and mean accuracy per cell and task and the ratio of the best to the GRU's best (the
paper's statistic is the best over settings); ``paired_orderings`` tests a claim such as "LSTM > LSTM-f" both ways
the shared settings allow: setting by setting (wins, losses, a two-sided sign test) and on the best over settings
(a paired bootstrap of the difference of the two bests). ``compare_cells`` is ``summarize(compare_settings(...))``;
``against_gru`` trains one cell a reader wrote, under the name they gave it, beside the GRU (notebook 13).

The draws of setting ``k`` of a task depend only on (seed, task, k), never on how many settings are asked for, so a
table can be extended with more settings and every earlier row stays valid (``done`` skips them).
"""

from __future__ import annotations

import math
import random

import pandas as pd

from rnnlab.cells.graph import LIBRARY, library_graph, parse_equations, validity_problem
from rnnlab.errors import RnnlabError, check_positive
from rnnlab.parallel import WorkerPool
from rnnlab.search.evaluate import Hyperparameters, run_job, sample_hyperparameters
from rnnlab.search.loop import FILTER, TASKS

BASELINES = ("gru", "lstm_b", "mut1")
SETTING_COLUMNS = ("cell", "task", "setting", "lr", "init", "clip", "seed", "accuracy", "seconds")


def setting_draws(task: str, settings: int, seed: int = 0) -> list[Hyperparameters]:
    """The first ``settings`` random settings of ``task``: setting k is the same whatever ``settings`` is."""
    rng = random.Random(f"compare/{seed}/{task}")
    return [sample_hyperparameters(rng) for _ in range(settings)]


def compare_settings(cells: dict[str, str], settings: int = 6, seed: int = 0, profile: str = "search",
                     engine: str = "inline", workers: int = 1, address: str | None = None, done=(),
                     on_row=None) -> pd.DataFrame:
    """Train every cell ``{name: equations}`` on every task with the same ``settings`` random settings; one row per
    cell, task and setting (``SETTING_COLUMNS``). ``done``: (cell, task, setting) triples to skip; ``on_row(row)``
    is called as each one finishes (to record it at once)."""
    tasks = (FILTER, *TASKS)
    draws = {task: setting_draws(task, settings, seed) for task in tasks}
    done = set(done)
    jobs = [dict(id=(name, task, k), equations=equations, order=[task], settings={task: [draws[task][k].as_dict()]},
                 thresholds={}, profile=profile)
            for k in range(settings) for name, equations in cells.items() for task in tasks
            if (name, task, k) not in done]  # setting by setting: a run stopped early leaves every cell k settings
    rows = []
    with WorkerPool(engine, workers, address) as pool:
        for index, result in pool.map_unordered(run_job, jobs):
            name, task, k = jobs[index]["id"]
            row = dict(cell=name, task=task, setting=k, **draws[task][k].as_dict(),
                       accuracy=result["scores"][task][0], seconds=result["seconds"])
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return pd.DataFrame(rows, columns=list(SETTING_COLUMNS))


def summarize(per_setting: pd.DataFrame, cells=None) -> pd.DataFrame:
    """Per cell and task: the best and the mean accuracy over its settings, how many, their seconds, and the best
    over the GRU's best (when the GRU is among the cells); cells in the order of ``cells`` (default: as found)."""
    table = per_setting.groupby(["cell", "task"], sort=False).agg(
        best=("accuracy", "max"), mean=("accuracy", "mean"), settings=("accuracy", "size"),
        seconds=("seconds", "sum")).reset_index()
    table["mean"] = table["mean"].round(4)
    table["seconds"] = table["seconds"].round(2)
    if "gru" in set(table.cell):
        gru = table[table.cell == "gru"].set_index("task")["best"]
        table["best_vs_gru"] = [round(b / gru[t], 3) if gru.get(t) else None for b, t in zip(table.best, table.task,
                                                                                            strict=True)]
    order = {name: k for k, name in enumerate(cells if cells is not None else dict.fromkeys(table.cell))}
    tasks = {t: k for k, t in enumerate((FILTER, *TASKS))}
    return table.sort_values(["cell", "task"], key=lambda col: col.map(order if col.name == "cell" else tasks)) \
        .reset_index(drop=True)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: the probability, if either cell were equally likely to win a setting, of a split
    at least as uneven as ``wins``:``losses`` (ties left out)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired_orderings(per_setting: pd.DataFrame, claims, resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Each claim ``(left, ">" or ">=", right)`` on each task, over the settings both cells ran: the two bests and
    whether the claim holds on them (the paper's statistic), the 90% paired-bootstrap interval of best(left) −
    best(right) (settings resampled with replacement, the same indices for both cells), and setting by setting the
    wins, losses, ties of ``left`` and the sign test's p."""
    rng = random.Random(f"orderings/{seed}")
    rows = []
    for left, op, right in claims:
        for task in dict.fromkeys(per_setting.task):
            pick = per_setting[per_setting.task == task]
            a = pick[pick.cell == left].set_index("setting")["accuracy"]
            b = pick[pick.cell == right].set_index("setting")["accuracy"]
            shared = sorted(set(a.index) & set(b.index))
            if not shared:
                continue
            a, b = a.loc[shared].tolist(), b.loc[shared].tolist()
            best_a, best_b = max(a), max(b)
            diffs = []
            for _ in range(resamples):
                idx = [rng.randrange(len(shared)) for _ in shared]
                diffs.append(max(a[i] for i in idx) - max(b[i] for i in idx))
            diffs.sort()
            wins = sum(x > y for x, y in zip(a, b, strict=True))
            losses = sum(x < y for x, y in zip(a, b, strict=True))
            rows.append({"claim": f"{left} {op} {right}", "task": task, "settings": len(shared),
                         "best_left": best_a, "best_right": best_b,
                         "holds": bool(best_a > best_b if op == ">" else best_a >= best_b),
                         "best_diff_lo": round(diffs[int(0.05 * resamples)], 4),
                         "best_diff_hi": round(diffs[int(0.95 * resamples) - 1], 4),
                         "wins": wins, "losses": losses, "ties": len(shared) - wins - losses,
                         "sign_p": round(sign_test(wins, losses), 4)})
    return pd.DataFrame(rows)


def compare_cells(cells: dict[str, str], settings: int = 6, seed: int = 0, profile: str = "search",
                  engine: str = "inline", workers: int = 1, address: str | None = None) -> pd.DataFrame:
    """Train every cell ``{name: equations}`` on every task with the same ``settings`` random settings; the
    per-cell, per-task summary (``summarize``)."""
    per_setting = compare_settings(cells, settings, seed, profile, engine, workers, address)
    return summarize(per_setting, cells).assign(equations=lambda t: t.cell.map(cells))


MAX_NAME = 40


def check_cell_name(name: str, taken=BASELINES) -> str:
    """A name for a cell in a comparison: 1..40 letters, digits, ``-`` or ``_``, none of ``taken`` (one line)."""
    if not isinstance(name, str) or not name.strip():
        raise RnnlabError(f"give your cell a name (1..{MAX_NAME} letters, digits, - or _), got {name!r}")
    name = name.strip()
    if len(name) > MAX_NAME or not name.replace("-", "").replace("_", "").isalnum():
        raise RnnlabError(f"cell name {name!r} must be 1..{MAX_NAME} letters, digits, - or _")
    if name.lower() in taken:
        raise RnnlabError(f"cell name {name!r} is taken by a reference cell ({', '.join(taken)}); choose another")
    return name


def against_gru(name: str, equations: str, settings: int = 2, seed: int = 0, profile: str = "search",
                on_row=None) -> pd.DataFrame:
    """One cell written as equations, trained under ``name`` beside the GRU on every task with the same random
    settings (``compare_cells``; rows labelled ``name`` and ``gru``). A bad name or equations: one line, before
    any training."""
    name = check_cell_name(name, taken=("gru",))
    graph = parse_equations(equations)
    problem = validity_problem(graph)
    if problem is not None:
        raise RnnlabError(f"cell {name!r} is not usable: {problem}")
    check_positive("settings", settings)
    cells = {name: equations, "gru": LIBRARY["gru"]}
    per_setting = compare_settings(cells, settings, seed, profile, on_row=on_row)
    return summarize(per_setting, cells).assign(equations=lambda t: t.cell.map(cells))


def compare_best(state, k: int = 3, settings: int = 6, engine: str = "inline", workers: int = 1,
                 address: str | None = None) -> pd.DataFrame:
    """The ``k`` fittest children of a search against the baselines (see ``compare_cells``)."""
    found = [c for c in state.top() if c["kind"] == "child"][:k]
    cells = {f"found{c['id']}": c["equations"] for c in found}
    cells.update({name: library_graph(name).canonical() for name in BASELINES})
    return compare_cells(cells, settings, state.config.seed, state.config.profile, engine, workers, address)
