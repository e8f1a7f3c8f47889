"""Figures and tables of the paper reports (notebooks 10-12), from published campaign results (results/<paper>/).

Pure functions returning ``go.Figure`` or DataFrames: the report notebooks only choose what to show. Tables are in
the paper's layout: one row per dataset and model, our value beside the paper's and the difference (ours − paper),
per NLL convention (per frame, per piece); the figures plot those differences. The papers' numbers come from
:mod:`rnnlab.papers` (through ``campaigns.results.beside_paper``), ours from the published tables, and a model is
named by what was run (``viz.compare.unit_label``: a tanh cell with sigmoid units is ``logistic``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from rnnlab.viz.curves import PALETTE, learning_curves

CONVENTIONS = {"per frame": "ours", "per piece": "ours per piece"}  # beside_paper's column of each convention


def published_runs(results: str | Path, paper: str) -> pd.DataFrame:
    """The campaign table ``results/<paper>.csv`` (empty, with its columns, when nothing is published yet)."""
    from rnnlab.campaigns.results import COLUMNS

    path = Path(results) / f"{paper}.csv"
    return pd.read_csv(path) if path.exists() else pd.DataFrame(columns=list(COLUMNS))


def model_names(table: pd.DataFrame, paper_rows: pd.DataFrame) -> pd.Series:
    """How each row of ``beside_paper``'s output (``paper_rows``) names its model: the architecture's label when the
    paper compares architectures (``DT(S)-RNN``), then the unit that ran (``logistic``: the nonlinearity recorded in
    the campaign ``table`` for that point; the paper's cell where we have no run), e.g. ``DT(S)-RNN, logistic``."""
    from rnnlab.nets import ARCHS
    from rnnlab.viz.compare import unit_label

    nonlinearity = dict(zip(table.point, table.nonlinearity, strict=True)) if "nonlinearity" in table else {}
    archs = paper_rows.arch.nunique() > 1
    names = []
    for row in paper_rows.itertuples():
        unit = unit_label(row.cell, nonlinearity.get(row.point)) if isinstance(row.point, str) else row.cell
        unit = {"gru": "GRU", "lstm_peephole": "LSTM (peepholes)", "lstm": "LSTM"}.get(unit, unit)
        names.append(f"{ARCHS[row.arch].label}, {unit}" if archs else unit)
    return pd.Series(names, index=paper_rows.index)


def paper_layout(table: pd.DataFrame, paper: str, splits: tuple[str, ...] = ("test",), table_name: str = "Table 2",
                 extra: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """A paper's table beside ours, in its layout: one row per dataset and model (index), and for each split the
    paper's number, ours per frame and per piece, and ours − paper under each convention (columns: split / what).

    ``table``: a published campaign table (``results/<paper>.csv``, the runs to show: e.g. the best draw of each
    group); ``table_name``: which of the paper's tables; ``extra``: more columns (under ``run``), by name, each a
    Series indexed by point (e.g. the learning rate and the draws taken)."""
    from rnnlab.campaigns.results import beside_paper

    parts, index = {}, None
    for split in splits:
        rows = beside_paper(table, paper, split=split)
        rows = rows[rows.table == table_name].reset_index(drop=True)
        if index is None:
            index = pd.MultiIndex.from_arrays([rows.dataset, model_names(table, rows)], names=["dataset", "model"])
            points = rows.point
        parts[(split, "paper")] = rows.paper.to_numpy()
        for convention, column in CONVENTIONS.items():
            parts[(split, f"ours {convention}")] = rows[column].to_numpy()
        for convention, column in CONVENTIONS.items():
            parts[(split, f"Δ {convention}")] = (rows[column] - rows.paper).to_numpy()
    frame = pd.DataFrame(parts, index=index)
    for name, values in (extra or {}).items():
        frame.insert(len(frame.columns), ("run", name), points.map(values).to_numpy())
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def difference_figure(layout: pd.DataFrame, title: str, metric: str = "NLL (nats per time step)") -> go.Figure:
    """Ours − paper for every row of a ``paper_layout`` table, one marker per convention (filled: per frame, open:
    per piece) and one panel per split; the dashed line at 0 is the paper. Rows read top to bottom as the table."""
    from plotly.subplots import make_subplots

    splits = [s for s in dict.fromkeys(layout.columns.get_level_values(0)) if s != "run"]
    fig = make_subplots(rows=1, cols=len(splits), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[f"{split}: ours − paper" for split in splits])
    labels = [f"{dataset} · {model}" for dataset, model in layout.index]
    for col, split in enumerate(splits, 1):
        for (convention, symbol), color in zip((("per frame", "circle"), ("per piece", "diamond-open")), PALETTE,
                                              strict=False):
            fig.add_trace(go.Scatter(x=layout[(split, f"Δ {convention}")], y=labels, mode="markers",
                                     name=f"ours {convention} − paper", legendgroup=convention, showlegend=col == 1,
                                     marker=dict(size=11, symbol=symbol, color=color, line=dict(width=2)),
                                     hovertemplate="%{y}: %{x:+.3f}<extra>" + f"{split}, {convention}</extra>"),
                          row=1, col=col)
        fig.add_vline(x=0, line=dict(color="#444", dash="dash"), row=1, col=col)
    fig.update_xaxes(title_text=f"ours − paper, {metric}", zeroline=False)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_layout(title=dict(text=title, font=dict(size=15)), template="plotly_white",
                      height=max(320, 30 * len(labels) + 190), margin=dict(t=110),
                      legend=dict(orientation="h", x=1, xanchor="right", y=1, yanchor="top", yref="container"))
    return fig


def campaign_curves(results: str | Path, paper: str, points: dict[str, str], metric: str = "nll") -> go.Figure:
    """Learning curves (per update and per second) of published points, ``{label: point}``."""
    runs = {}
    for label, point in points.items():
        folder = Path(results) / paper / point
        epochs = pd.read_csv(folder / "metrics.csv") if (folder / "metrics.csv").exists() else pd.DataFrame()
        updates = pd.read_csv(folder / "updates_binned.csv") if (folder / "updates_binned.csv").exists() \
            else pd.DataFrame()
        if len(epochs):
            runs[label] = (updates, epochs)
    return learning_curves(runs, metric=metric, smooth=1)


def lr_figure(results: str | Path, paper: str, points: dict[str, str]) -> go.Figure:
    """Learning rate and validation cost per epoch of published points (e.g. two readings of a schedule)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("learning rate (end of epoch)", "validation cost"))
    for i, (label, point) in enumerate(points.items()):
        path = Path(results) / paper / point / "metrics.csv"
        if not path.exists():
            continue
        epochs = pd.read_csv(path)
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=epochs["epoch"], y=epochs["lr"], name=label, line=dict(color=color),
                                 legendgroup=label), row=1, col=1)
        fig.add_trace(go.Scatter(x=epochs["epoch"], y=epochs["valid_metric"], name=label, showlegend=False,
                                 line=dict(color=color), legendgroup=label), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(template="plotly_white", height=380, legend=dict(orientation="h", y=-0.25))
    return fig


def ordering_checks(best: pd.DataFrame, claims: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Check orderings such as ``("lstm", ">", "lstm_nof")`` per task column of ``best`` (cells × tasks)."""
    rows = []
    for left, op, right in claims:
        for task in best.columns:
            a, b = best.loc[left, task], best.loc[right, task]
            holds = a > b if op == ">" else a >= b
            rows.append({"claim": f"{left} {op} {right}", "task": task, "ours": f"{a:.3f} vs {b:.3f}",
                         "holds": bool(holds)})
    return pd.DataFrame(rows, columns=["claim", "task", "ours", "holds"])


def table1_beside_paper(ours: pd.DataFrame, cells: list[str], tasks: tuple[str, ...] = ("arithmetic", "xml"),
                        ) -> pd.DataFrame:
    """Jozefowicz et al.'s Table 1 beside ours at the search's scale: one row per cell, for each task our best and
    mean accuracy over the settings, the paper's best (``rnnlab.papers``) and our best − the paper's.
    ``ours``: ``results/jozefowicz2015/table1_search_scale.csv`` (cell, task, best, mean)."""
    from rnnlab.papers import paper_results

    paper = paper_results()
    paper = paper[(paper.paper == "Jozefowicz 2015") & (paper.table == "Table 1")].pivot(
        index="cell", columns="dataset", values="value")
    parts = {}
    for task in tasks:
        mine = ours[ours.task == task].set_index("cell").reindex(cells)
        parts[(task, "ours best")] = mine["best"]
        parts[(task, "ours mean")] = mine["mean"]
        parts[(task, "paper")] = paper[task].reindex(cells)
        parts[(task, "Δ best")] = mine["best"] - paper[task].reindex(cells)
    frame = pd.DataFrame(parts)
    frame.index.name = "cell"
    return frame


def relative_to_figure(side: pd.DataFrame, reference: str = "lstm") -> go.Figure:
    """Each cell's best accuracy minus the ``reference`` cell's, ours (filled) beside the paper's (open), one panel
    per task of a ``table1_beside_paper`` table: the orderings the paper claims, read off both at once (above 0:
    better than the reference)."""
    from plotly.subplots import make_subplots

    tasks = list(dict.fromkeys(side.columns.get_level_values(0)))
    fig = make_subplots(rows=1, cols=len(tasks), shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=[f"{task}: best − best of {reference}" for task in tasks])
    for col, task in enumerate(tasks, 1):
        for column, name, symbol, color in (("ours best", "ours (search scale)", "circle", PALETTE[0]),
                                            ("paper", "paper's Table 1", "diamond-open", PALETTE[1])):
            values = side[(task, column)] - side.at[reference, (task, column)]
            fig.add_trace(go.Scatter(x=values, y=list(side.index), mode="markers", name=name, legendgroup=name,
                                     showlegend=col == 1, marker=dict(size=11, symbol=symbol, color=color,
                                                                      line=dict(width=2)),
                                     hovertemplate="%{y}: %{x:+.3f}<extra>" + f"{name}, {task}</extra>"),
                          row=1, col=col)
        fig.add_vline(x=0, line=dict(color="#444", dash="dash"), row=1, col=col)
    fig.update_xaxes(title_text="accuracy difference", zeroline=False)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_layout(title=dict(text=f"Jozefowicz et al. 2015, Table 1: each cell against the {reference.upper()}, "
                                      "ours and the paper's", font=dict(size=15)),
                      template="plotly_white", height=max(320, 30 * len(side) + 190), margin=dict(t=110),
                      legend=dict(orientation="h", x=1, xanchor="right", y=1, yanchor="top", yref="container"))
    return fig


def orderings_beside_paper(paper_best: pd.DataFrame, ours: pd.DataFrame,
                           claims: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Each ordering claim per task, the paper's own numbers (``paper_best``: cells × tasks from its Table 1, via
    ``ordering_checks``) and ours (``ours``: ``table1_orderings.csv``: the bests, their 90% paired-bootstrap
    interval, and the setting-by-setting wins, losses, ties and sign-test p) under separate column headings."""
    paper = ordering_checks(paper_best, claims).set_index(["claim", "task"])
    ours = ours.set_index(["claim", "task"]).reindex(paper.index)
    frame = pd.DataFrame({
        ("paper's Table 1", "values"): paper["ours"],
        ("paper's Table 1", "holds"): paper["holds"],
        ("ours: best of the settings", "values"): [f"{a:.3f} vs {b:.3f}" for a, b in
                                                   zip(ours.best_left, ours.best_right, strict=True)],
        ("ours: best of the settings", "holds"): ours.holds.astype(bool),
        ("ours: best of the settings", "90% interval of the difference"): [
            f"{lo:+.3f} … {hi:+.3f}" for lo, hi in zip(ours.best_diff_lo, ours.best_diff_hi, strict=True)],
        ("ours: setting by setting", "won–lost–tied"): [f"{won}–{lost}–{tied}" for won, lost, tied in
                                                       zip(ours.wins, ours.losses, ours.ties, strict=True)],
        ("ours: setting by setting", "sign-test p"): ours.sign_p,
    }, index=paper.index)
    return frame


def compact_probe(view: pd.DataFrame) -> pd.DataFrame:
    """``campaigns.results.probe_beside_best``'s table narrowed to fit a page: one row per dataset and run (the
    campaign's best draw of each cell, then each probe run), the learning rate with every digit it has, epochs as
    best/run, and the NLLs and differences from the reference's best draw."""
    def run_name(row) -> str:
        if row.run.startswith("best draw: "):
            return f"best {row.cell} draw"
        return row.run

    frame = pd.DataFrame({
        "dataset": view.dataset, "run": [run_name(row) for row in view.itertuples()], "cell": view.cell,
        "lr": view.lr.map(lambda v: f"{v:.3g}"),
        "forget bias": view.forget_bias.map(lambda v: "" if pd.isna(v) else f"{v:g}"),
        "epochs (best/run)": [f"{int(b)}/{int(r)}" for b, r in zip(view.best_epoch, view.epochs_run, strict=True)],
        "best valid": view.best_valid, "test": view.test_nll, "test per piece": view.test_nll_pieces,
        "train": view.train_nll, "valid − best": view.valid_vs_best, "test − best": view.test_vs_best})
    return frame.set_index(["dataset", "run"])
