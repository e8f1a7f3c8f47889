"""Jozefowicz et al. 2015, Table 1 at the architecture search's scale: the ten cells of the study on the
memorization, arithmetic and XML tasks, each with the same random hyperparameter settings from the paper's ranges
(common random numbers); the best and mean accuracy per cell and task, and the paper's orderings tested on both.

``run_table1(out, settings)`` writes three CSV files under ``out`` (``results/jozefowicz2015/`` by default):

- ``table1_settings.csv``: one row per cell, task and setting (``SETTING_COLUMNS``), rewritten as each setting
  finishes, so a killed run loses at most the settings in flight. A rerun, or a larger ``settings``, trains only
  the missing rows: setting k's draws do not depend on how many settings are asked for (``setting_draws``); a row
  whose hyperparameters are no longer setting k's is trained again;
- ``table1_search_scale.csv``: best, mean and count per cell and task (``summarize``);
- ``table1_orderings.csv``: each claim of the paper (``JOZEFOWICZ_ORDERINGS``) per task: on the bests, with a
  paired-bootstrap interval, and setting by setting with a sign test (``paired_orderings``).

The cells are the library's graphs (``LIBRARY`` in ``cells/graph/library.py``: each equals its hand-written cell,
the three LSTM ablations included). The scale (one level of 24 units, a few hundred SGD updates, tasks shrunk) is
the search's (docs/search.md): the question is whether the paper's orderings hold (forget gate >> input > output;
LSTM-b >= LSTM; GRU and MUTs >= LSTM), not its absolute accuracies. It lives in ``search`` (not ``campaigns``)
because it is built on ``rnnlab.search.compare``, and the two packages share a rank. CLI: ``rnnlab table1``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from rnnlab.cells.graph.library import LIBRARY
from rnnlab.errors import RnnlabError, check_choice, check_positive
from rnnlab.files import atomic_write
from rnnlab.papers import JOZEFOWICZ_ORDERINGS, paper_results
from rnnlab.parallel import ENGINES
from rnnlab.paths import PROJECT_ROOT
from rnnlab.search.compare import SETTING_COLUMNS, compare_settings, paired_orderings, setting_draws, summarize
from rnnlab.search.evaluate import PROFILES

DEFAULT_OUT = PROJECT_ROOT / "results" / "jozefowicz2015"
FILES = ("table1_settings.csv", "table1_search_scale.csv", "table1_orderings.csv")


def table1_cells() -> tuple[str, ...]:
    """The ten cells of the paper's Table 1, in its order (tanh, LSTM, LSTM-f/-i/-o, LSTM-b, GRU, MUT1–3)."""
    table = paper_results().query("paper == 'Jozefowicz 2015' and table == 'Table 1'")
    return tuple(dict.fromkeys(table.cell))


def write_csv(table: pd.DataFrame, path: Path) -> None:
    with atomic_write(path) as out:
        out.write(table.to_csv(index=False).encode())


def recorded(path: Path, seed: int) -> pd.DataFrame:
    """The rows already in ``path`` whose hyperparameters are still what setting k draws (others are retrained)."""
    if not path.exists():
        return pd.DataFrame(columns=list(SETTING_COLUMNS))
    rows = pd.read_csv(path)
    if list(rows.columns) != list(SETTING_COLUMNS):
        raise RnnlabError(f"{path}: columns {list(rows.columns)} are not {list(SETTING_COLUMNS)}; move it aside")
    keep = []
    for task, group in rows.groupby("task", sort=False):
        draws = setting_draws(task, int(group.setting.max()) + 1, seed)
        keep += [i for i, r in group.iterrows() if draws[int(r["setting"])].as_dict() ==
                 dict(lr=r["lr"], init=r["init"], clip=r["clip"], seed=int(r["seed"]))]
    return rows.loc[sorted(keep)]


def run_table1(out: str | Path = DEFAULT_OUT, settings: int = 40, *, seed: int = 0, profile: str = "search",
               engine: str = "local", workers: int = 2, address: str | None = None,
               log: Callable[[str], None] | None = print) -> dict[str, pd.DataFrame]:
    """Train what ``out`` lacks of the first ``settings`` settings per cell and task, then write the three tables
    (see the module doc); returns them as ``{"settings", "search_scale", "orderings"}``. ``log`` gets the progress
    lines (None: quiet)."""
    check_positive("settings", settings)
    check_positive("workers", workers)
    check_choice("profile", profile, PROFILES)
    check_choice("engine", engine, ENGINES)
    say = log or (lambda line: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cells = table1_cells()
    settings_path = out / FILES[0]
    rows = recorded(settings_path, seed)
    done = set(zip(rows.cell, rows.task, rows.setting.astype(int), strict=True))
    todo = len(cells) * 3 * settings - len([d for d in done if d[2] < settings])
    say(f"{len(done)} settings recorded in {settings_path}; {todo} to train")
    table = [rows]

    def record(row: dict) -> None:
        table.append(pd.DataFrame([row]))
        write_csv(pd.concat(table, ignore_index=True), settings_path)

    compare_settings({name: LIBRARY[name] for name in cells}, settings=settings, seed=seed, profile=profile,
                     engine=engine, workers=workers, address=address, done=done, on_row=record)
    order = {name: k for k, name in enumerate(cells)}
    every = pd.concat(table, ignore_index=True).sort_values(
        ["cell", "task", "setting"], key=lambda col: col.map(order) if col.name == "cell" else col)
    write_csv(every, settings_path)  # rows past `settings` (from an earlier, larger run) are kept, not summarised
    per_setting = every[every.setting < settings]
    summary = summarize(per_setting, cells)
    write_csv(summary, out / FILES[1])
    orderings = paired_orderings(per_setting[per_setting.task != "memorize"], JOZEFOWICZ_ORDERINGS)
    write_csv(orderings, out / FILES[2])
    say(summary.pivot(index="cell", columns="task", values="best").loc[list(cells)].to_string())
    say(orderings.to_string(index=False))
    say(f"wrote {out}/{', '.join(FILES)}")
    return {"settings": every, "search_scale": summary, "orderings": orderings}
