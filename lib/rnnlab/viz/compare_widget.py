"""The comparison dashboard: dropdowns filter the run store; the overlaid curves (a FigureWidget) and the results
table beside the papers follow. A thin wrapper over :mod:`rnnlab.viz.compare`."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go

from rnnlab.train.runs import load
from rnnlab.viz.compare import (
    FILTER_COLUMNS,
    compare_curves,
    describe_store,
    filter_options,
    filter_runs,
    results_beside_papers,
    results_figure,
    with_data_column,
)

_TABLE_COLUMNS = ["label", "data", "n_params", "status", "epochs_run", "metric", "best_valid", "test",
                  "paper", "paper_value", "comparable"]


def compare_dashboard(root: str | Path | None = None, **initial) -> widgets.VBox:
    """Dropdowns (data actually trained on, dataset asked for, arch, cell, status) + a reload button; curves and
    table redraw on every change.

    ``initial`` sets starting filter values, e.g. ``compare_dashboard(dataset="jsb")``.
    """
    from rnnlab.paths import runs_dir

    root = Path(root) if root is not None else runs_dir()
    state = {"runs": with_data_column(load(root))}
    dropdowns = {column: widgets.Dropdown(description=column, options=filter_options(state["runs"], column),
                                          layout=widgets.Layout(width="300px" if column == "data" else "200px"))
                 for column in FILTER_COLUMNS}
    for column, value in initial.items():
        if value in dropdowns[column].options:
            dropdowns[column].value = value
    refresh = widgets.Button(description="reload store", icon="refresh")
    summary = widgets.HTML()
    curves = go.FigureWidget(compare_curves(state["runs"].iloc[0:0]))
    results = go.FigureWidget(results_figure(results_beside_papers(state["runs"].iloc[0:0])))
    table = widgets.HTML()  # the results as an HTML table (not an Output widget: nothing to capture headless)

    def redraw(*_):
        selected = filter_runs(state["runs"], **{c: d.value for c, d in dropdowns.items()})
        summary.value = f"<b>{len(selected)}</b> of {describe_store(state['runs'], root)}"
        _replace(curves, compare_curves(selected))
        rows = results_beside_papers(selected)
        _replace(results, results_figure(rows))
        shown = rows[[c for c in _TABLE_COLUMNS if c in rows]]
        table.value = shown.to_html(index=False, float_format="{:.3f}".format, na_rep="") if len(rows) else \
            "<i>no runs match the filter</i>"

    def reload(*_):
        state["runs"] = with_data_column(load(root))
        for column, dropdown in dropdowns.items():
            keep = dropdown.value
            dropdown.options = filter_options(state["runs"], column)
            dropdown.value = keep if keep in dropdown.options else "all"
        redraw()

    for dropdown in dropdowns.values():
        dropdown.observe(redraw, names="value")
    refresh.on_click(reload)
    redraw()
    return widgets.VBox([widgets.HBox([*dropdowns.values(), refresh]), summary, curves, results, table])


def _replace(widget: go.FigureWidget, fresh: go.Figure) -> None:
    """Swap a FigureWidget's traces and layout for those of ``fresh`` in one batched update."""
    with widget.batch_update():
        widget.data = []
        widget.add_traces(list(fresh.data))
        widget.layout = fresh.layout
