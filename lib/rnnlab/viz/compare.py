"""Side-by-side comparison of the runs in the run store: filter, overlay learning curves, tabulate results beside
the papers' published numbers.

Works on the DataFrame of ``rnnlab.train.runs.load(root)`` (one row per run). Pure functions; the dashboard widget
lives in :mod:`rnnlab.viz.compare_widget`.

Comparability: a paper's number is only comparable with ours when we trained on the same data. A run on
``bach-music21`` (the offline stand-in for JSB Chorales), or a run that asked for ``jsb`` but fell back to the
stand-in, is shown beside Pascanu's / Chung's JSB number as a reference, flagged ``comparable = False``. A run on
``noncanonical`` files (a canonical set's name, the wrong sha256, admitted by ``allow_noncanonical``) counts as no
paper dataset and is never set beside a paper's number. What a run's data was (canonical, stand-in, fallback,
generated, noncanonical) and what paper dataset it counts as is asked of :mod:`rnnlab.data` (its registry and
:class:`~rnnlab.data.Provenance`), never worked out here.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from rnnlab.data import DATASETS, Provenance, data_families, stand_ins
from rnnlab.papers import paper_results
from rnnlab.train.runs import load_metrics
from rnnlab.viz.curves import learning_curves

ALL = "all"
FILTER_COLUMNS = ("data", "dataset", "arch", "cell", "status")


def with_data_column(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` plus a ``data`` column (``rnnlab.data.data_family`` of each run: ``canonical <dataset>``, ``generated
    <dataset>`` or the stand-in's name; only runs of one family are compared on one axis)."""
    runs = runs.copy()
    if runs.empty:
        runs["data"] = pd.Series(dtype=str)
        return runs
    runs["data"] = data_families(runs)
    return runs


def filter_options(runs: pd.DataFrame, column: str) -> list[str]:
    """``["all", ...]`` followed by the distinct values of ``column`` in the store (for a dropdown)."""
    if column == "data" and not runs.empty and "data" not in runs:
        runs = with_data_column(runs)
    if runs.empty or column not in runs:
        return [ALL]
    return [ALL] + sorted(str(v) for v in runs[column].dropna().unique())


def filter_runs(runs: pd.DataFrame, **criteria) -> pd.DataFrame:
    """Rows matching every given column value (``dataset="jsb", cell="gru"``, ``data="canonical jsb"``);
    ``None`` or ``"all"`` = any."""
    unknown = sorted(set(criteria) - set(FILTER_COLUMNS))
    if unknown:
        from rnnlab.errors import RnnlabError

        raise RnnlabError(f"cannot filter runs by {', '.join(unknown)}; valid filters: {', '.join(FILTER_COLUMNS)}")
    if criteria.get("data") not in (None, ALL) and not runs.empty and "data" not in runs:
        runs = with_data_column(runs)
    keep = pd.Series(True, index=runs.index)
    for column, value in criteria.items():
        if value in (None, ALL) or runs.empty:
            continue
        if column not in runs:
            return runs.iloc[0:0]
        keep &= runs[column].astype(str) == str(value)
    return runs[keep]


UNIT_NAMES = {"sigmoid": "logistic", "lp": "L_p"}  # a tanh cell is named by its φ: Pascanu's logistic RNN
NOT_KNOBS = ("dataset", "arch", "cell", "hidden", "nonlinearity", "device", "checkpoint_every", "max_eval_sequences",
             "equations")  # config fields a label never names (in its base, or bookkeeping)
FIRST_KNOBS = ("lr", "seed", "optimizer", "forget_bias", "weight_noise", "init_from")  # named first when they differ
MAX_DRAWN = 10  # runs whose curves and results one page of the dashboard draws


def unit_label(cell: str, nonlinearity=None) -> str:
    """What a run's unit is called: its cell's name, except the simple cell ``tanh``, which is named by its
    nonlinearity φ (``tanh``, ``logistic`` for φ = sigmoid as in all of Pascanu et al.'s models, ``relu``, ...)."""
    if cell != "tanh" or not isinstance(nonlinearity, str) or nonlinearity in ("", "tanh"):
        return str(cell)
    return UNIT_NAMES.get(nonlinearity, nonlinearity)


def run_knobs(runs: pd.DataFrame) -> pd.DataFrame:
    """The training knobs of each run (index ``run_dir``), read from its config.json; a run without a readable
    one has no knobs (an empty row)."""
    import json

    rows = {}
    for run_dir in runs.get("run_dir", pd.Series(dtype=str)):
        try:
            config = json.loads((Path(run_dir) / "config.json").read_text())
        except (OSError, ValueError):
            config = None
        rows[run_dir] = {k: (json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v)
                         for k, v in (config.items() if isinstance(config, dict) else ())}
    return pd.DataFrame.from_dict(rows, orient="index")


def _knob_text(name: str, value) -> str:
    if isinstance(value, float) and not math.isnan(value):
        return f"{name} {value:.3g}"
    return f"{name} {value}"


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """A short unique label per run directory: ``arch/unit h<hidden> dataset`` (the unit: ``unit_label``, so a
    tanh cell with logistic units says ``logistic``), and where several runs share that, the knobs that tell them
    apart (``· lr 0.0015``, ``· lr 0.0015, seed 1``; at most three, from config.json), ``#2`` ... only for runs
    whose knobs are all the same. A run that asked for a paper's set but trained on our stand-in says
    ``(stand-in)``, one on files that are not the catalogued ones ``(noncanonical)``."""
    knobs = run_knobs(runs)
    bases = {}
    replaced = set(stand_ins().values())  # paper datasets that have a stand-in
    for _, row in runs.iterrows():
        dataset = row.get("dataset")
        origin = Provenance.from_record(row).origin
        if origin == "noncanonical":
            dataset = f"{dataset} (noncanonical)"
        elif dataset in replaced and origin != "canonical":
            dataset = f"{dataset} (stand-in)"
        nonlinearity = knobs.at[row["run_dir"], "nonlinearity"] if "nonlinearity" in knobs else None
        unit = unit_label(row.get("cell"), nonlinearity)
        bases[row["run_dir"]] = f"{row.get('arch')}/{unit} h{row.get('hidden', '?')} {dataset}"
    labels = {}
    for base, group in pd.Series(bases).groupby(lambda run_dir: bases[run_dir], sort=False):
        run_dirs = list(group.index)
        if len(run_dirs) == 1:
            labels[run_dirs[0]] = base
            continue
        mine = knobs.reindex(run_dirs).drop(columns=[c for c in NOT_KNOBS if c in knobs])
        mine = mine.map(lambda v: "none" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
        differ = [c for c in mine.columns if mine[c].map(str).nunique() > 1]
        differ.sort(key=lambda c: FIRST_KNOBS.index(c) if c in FIRST_KNOBS else len(FIRST_KNOBS))
        for count in range(1, len(differ) + 1):  # as few knobs as tell the runs apart
            if not mine[differ[:count]].map(str).duplicated().any():
                differ = differ[:count]
                break
        seen: dict[str, int] = {}
        for run_dir in run_dirs:
            text = ", ".join(_knob_text(c, mine.at[run_dir, c]) for c in differ)
            label = f"{base} · {text}" if text else base
            seen[label] = seen.get(label, 0) + 1
            labels[run_dir] = label if seen[label] == 1 else f"{label} #{seen[label]}"
    return labels


def pick_runs(runs: pd.DataFrame, page: int = 0, per_page: int = MAX_DRAWN, best_of_each: bool = False,
              labels: dict[str, str] | None = None) -> tuple[pd.DataFrame, str]:
    """The runs one page draws, and a line saying which and why: ordered by best validation metric (lowest first,
    runs without one last); ``best_of_each`` keeps only the best run of each model (the label without its knobs:
    arch, unit, width, dataset), e.g. the best learning-rate draw. ``page`` counts from 0 (clipped to the last)."""
    if runs.empty:
        return runs, "no runs match the filters"
    labels = labels if labels is not None else run_labels(runs)
    ordered = runs.assign(_valid=pd.to_numeric(runs.get("best_valid"), errors="coerce"))
    ordered = ordered.sort_values("_valid", na_position="last", kind="stable")
    what = "lowest best validation first"
    if best_of_each:
        model = ordered["run_dir"].map(lambda d: labels[d].split(" · ")[0].split(" #")[0])
        ordered = ordered[~model.duplicated()]
        what = f"the best of each of {len(ordered)} models (of {len(runs)} runs), " + what
    pages = max(1, -(-len(ordered) // per_page))
    page = min(max(page, 0), pages - 1)
    chosen = ordered.iloc[page * per_page:(page + 1) * per_page].drop(columns="_valid")
    if len(ordered) <= per_page:
        line = f"all {len(ordered)} runs drawn" if not best_of_each else f"{len(ordered)} runs drawn: {what}"
    else:
        line = (f"runs {page * per_page + 1}–{page * per_page + len(chosen)} of {len(ordered)} drawn ({what}; "
                f"page {page + 1} of {pages})")
    return chosen, line


def message_figure(message: str, height: int = 250) -> go.Figure:
    """An empty figure that says why there is nothing to plot."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=15))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(template="plotly_white", height=height)
    return fig


def compare_curves(runs: pd.DataFrame, smooth: int = 10, log_y: bool = True, max_runs: int = MAX_DRAWN,
                   title: str | None = None, labels: dict[str, str] | None = None) -> go.Figure:
    """Learning curves of the selected runs overlaid: per update (top) and per training second (bottom).

    More than ``max_runs`` runs are not all drawn: the ``max_runs`` with the lowest best validation metric are
    (``pick_runs``), and the title says so. ``title`` starts the title (default: how many runs are drawn); ``labels``
    (``run_labels`` of a larger selection) names the runs. The per-update training cost is smoothed over ``smooth``
    updates (more for long runs: 1/200 of the longest), and the y axis zooms on the validation curves."""
    if runs.empty:
        return message_figure("no runs match: train some (03_train.ipynb, rnnlab train) or widen the filter")
    labels = labels if labels is not None else run_labels(runs)
    drawn, line = pick_runs(runs, per_page=max_runs, labels=labels)
    metrics = sorted(runs["metric"].dropna().unique()) if "metric" in runs else []
    metric = metrics[0] if len(metrics) == 1 else "/".join(metrics) or "metric"
    curves = {labels[d]: (load_metrics(d, "updates"), load_metrics(d)) for d in drawn["run_dir"]}
    longest = max((len(updates) for updates, _ in curves.values()), default=0)
    fig = learning_curves(curves, metric=metric, log_y=log_y, smooth=max(smooth, longest // 200))
    valid = [v for _, epochs in curves.values() if "valid_metric" in epochs for v in epochs["valid_metric"].dropna()]
    if valid and log_y and min(valid) > 0:  # zoom on the validation curves; the first updates start far higher
        low, high = min(valid) * 0.92, float(pd.Series(valid).median()) * 1.4
        fig.update_yaxes(range=[math.log10(low), math.log10(max(high, low * 1.5))])
    text = title if title is not None else f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    if len(drawn) < len(runs):
        text += f": {line}"
    if len(metrics) > 1:
        text += f"; mixed metrics ({', '.join(metrics)}): filter by dataset to compare like with like"
    fig.update_layout(title=dict(text=text, font=dict(size=14)))
    return fig


def results_beside_papers(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, matching published number): our best validation and test metric beside the paper's.

    Columns: label, data, dataset, data_source, arch, cell, hidden, n_params, status, epochs_run, metric, best_valid,
    test, paper, table, paper_value, comparable, test_minus_paper, wall_seconds, run_dir.
    """
    columns = ["label", "data", "dataset", "data_source", "arch", "cell", "hidden", "n_params", "status", "epochs_run",
               "metric", "best_valid", "test", "paper", "table", "paper_value", "comparable", "test_minus_paper",
               "wall_seconds", "run_dir"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    runs = with_data_column(runs)
    labels = run_labels(runs)
    runs["label"] = runs["run_dir"].map(labels)
    runs["test"] = [row.get(f"test_{row['metric']}") if isinstance(row.get("metric"), str) else None
                    for _, row in runs.iterrows()]
    provenances = [Provenance.from_record(row) for row in runs.to_dict("records")]
    canonical = [p.origin == "canonical" for p in provenances]
    runs["paper_dataset"] = [p.paper_dataset for p in provenances]  # None for noncanonical files: joins nothing
    papers = paper_results()
    papers = papers[papers.split == "test"].rename(columns={"value": "paper_value", "dataset": "paper_dataset"})
    papers = papers[["paper", "table", "paper_dataset", "arch", "cell", "metric", "paper_value"]]
    joined = runs.assign(_canonical=canonical).merge(papers.dropna(subset=["paper_dataset"]),
                                                     on=["paper_dataset", "arch", "cell", "metric"], how="left")
    needs_canonical = joined["paper_dataset"].map(lambda d: d in DATASETS and DATASETS[d].canonical).astype(bool)
    joined["comparable"] = joined["paper_value"].notna() & (joined["_canonical"] | ~needs_canonical) & (
        joined["dataset"] == joined["paper_dataset"])
    joined["test_minus_paper"] = (pd.to_numeric(joined["test"], errors="coerce") - joined["paper_value"]).where(
        joined["comparable"])
    stand_in = joined["paper_value"].notna() & ~joined["comparable"]
    joined.loc[stand_in, "paper"] = joined.loc[stand_in, "paper"] + " on " + joined.loc[stand_in, "paper_dataset"] \
        + " (other data: reference only)"
    return joined[[c for c in columns if c in joined.columns]].reset_index(drop=True)


def results_figure(table: pd.DataFrame) -> go.Figure:
    """Dot plot per run: our test metric (filled) and the published numbers for the same setting (open)."""
    if table.empty:
        return message_figure("no finished runs to tabulate")
    fig = go.Figure()
    ours = table.drop_duplicates("run_dir")
    fig.add_trace(go.Scatter(x=pd.to_numeric(ours["test"], errors="coerce"), y=ours["label"], mode="markers",
                             name="ours (test)", marker=dict(size=12, color="#1f77b4"),
                             hovertemplate="%{y}: %{x:.3f}<extra>ours</extra>"))
    papers = table[table["paper_value"].notna()]
    for comparable, symbol, name in ((True, "diamond", "paper, same data"),
                                     (False, "diamond-open", "paper, other data (reference)")):
        part = papers[papers["comparable"] == comparable]
        if len(part):
            fig.add_trace(go.Scatter(x=part["paper_value"], y=part["label"], mode="markers", name=name,
                                     marker=dict(size=12, symbol=symbol, color="#d62728"),
                                     text=part["paper"] + ", " + part["table"],
                                     hovertemplate="%{text}: %{x}<extra></extra>"))
    metrics = sorted(table["metric"].dropna().unique())
    values = pd.concat([pd.to_numeric(ours["test"], errors="coerce"), papers["paper_value"]]).dropna()
    if len(values) and values.min() > 0 and values.max() / values.min() > 3:
        fig.update_xaxes(type="log")  # one badly trained run would squash the others
    fig.update_layout(template="plotly_white", height=max(300, 34 * len(ours) + 190),
                      xaxis_title="test " + "/".join(metrics) + " (NLL: nats per time step, lower is better)",
                      legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"), margin=dict(l=10, t=90))
    fig.update_yaxes(autorange="reversed")  # the first run listed on top
    return fig


def describe_store(runs: pd.DataFrame, root: str | Path) -> str:
    """One paragraph on what the store holds (or that it is empty and how to fill it)."""
    if runs.empty:
        return (f"The run store at {root} is empty. Train a model with notebooks/03_train.ipynb or "
                "`rnnlab train`, or run `make run`; every finished run appears here.")
    counts = runs.groupby("dataset").size().to_dict() if "dataset" in runs else {}
    parts = ", ".join(f"{n} on {d}" for d, n in sorted(counts.items()))
    status = runs["status"].value_counts() if "status" in runs else pd.Series(dtype=int)
    states = ", ".join(f"{n} {s}" for s, n in status.items())
    return f"{len(runs)} runs in {root}: {parts}; status: {states}."
