"""Tabulate the run store: one row per run with its test metric beside the papers' number for the same setting."""

from __future__ import annotations

import pandas as pd

from rnnlab.data import Provenance
from rnnlab.papers import paper_results
from rnnlab.train.runs import load


def results_table(root=None) -> pd.DataFrame:
    """Runs (status, data source, test metric) joined with the published test numbers where one exists; a run on
    ``noncanonical`` files (a paper set's name, not its catalogued sha256) is listed without any paper's number."""
    runs = load(root)
    if runs.empty:
        return runs
    runs = runs.copy()
    runs["test"] = [row.get(f"test_{row['metric']}") for _, row in runs.iterrows()]
    papers = paper_results()
    papers = papers[papers.split == "test"][["paper", "table", "dataset", "arch", "cell", "metric", "value"]]
    papers = papers.rename(columns={"value": "paper_value", "dataset": "_paper_key"})
    runs["_paper_key"] = [row.get("dataset") if Provenance.from_record(row).paper_dataset is not None else None
                          for row in runs.to_dict("records")]  # noncanonical data counts as no paper dataset
    joined = runs.merge(papers.dropna(subset=["_paper_key"]), on=["_paper_key", "arch", "cell", "metric"],
                        how="left")
    columns = ["dataset", "data_source", "arch", "cell", "hidden", "n_params", "status", "epochs_run", "metric",
               "best_valid", "test", "paper", "table", "paper_value", "wall_seconds", "run_dir"]
    return joined[[c for c in columns if c in joined.columns]]


PAPERS = {"pascanu2014": "Pascanu 2014", "chung2014": "Chung 2014", "jozefowicz2015": "Jozefowicz 2015"}


def campaign_paper(campaign: str) -> str:
    """The paper of a campaign: ``chung2014`` itself, or a variant of it such as ``chung2014-seeds`` (the spec's
    name, ``<paper>-<variant>``); anything else is one line naming the valid choices."""
    import re

    from rnnlab.errors import RnnlabError

    paper, dash, variant = campaign.partition("-")
    if paper not in PAPERS or (dash and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", variant)):
        raise RnnlabError(f"unknown campaign {campaign!r}; valid choices: {', '.join(sorted(PAPERS))}, or one of them "
                          "followed by -<variant> (e.g. chung2014-seeds)")
    return PAPERS[paper]


def points_status(planned: list[str], table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Where a sweep stands in its published table: one row per dataset, one column per model of the spec's points
    (``planned``, e.g. ``jsb/dts/seed=0``), each cell the published run's status and epochs (``ok, 31 epochs``),
    ``not published`` or empty where the spec has no such point; and one line counting them
    (``14 of 14 planned points published; variants outside the spec: ...``)."""
    published = table.set_index("point") if len(table) else pd.DataFrame(columns=["status", "epochs_run"])
    cells: dict[str, dict[str, str]] = {}
    for point in planned:
        dataset, _, rest = point.partition("/")
        model = rest.rpartition("/")[0] or rest
        if point in published.index:
            row = published.loc[point]
            cells.setdefault(model, {})[dataset] = f"{row.status}, {int(row.epochs_run)} epochs"
        else:
            cells.setdefault(model, {})[dataset] = "not published"
    datasets = list(dict.fromkeys(point.partition("/")[0] for point in planned))
    frame = pd.DataFrame(cells).reindex(datasets).fillna("")
    frame.index.name = "dataset"
    done = sum(point in published.index for point in planned)
    extra = sorted(set(published.index) - set(planned))
    line = f"{done} of {len(planned)} planned points published"
    if extra:
        line += f"; published variants outside the spec: {', '.join(extra)}"
    return frame, line
