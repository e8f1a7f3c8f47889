"""The comparison dashboard: dropdowns filter the run store; the overlaid curves (a FigureWidget), the dot plot of
our results beside the papers' and the table follow. A thin wrapper over :mod:`rnnlab.viz.compare`.

Many runs stay usable: one page draws at most ``MAX_DRAWN`` runs (lowest best validation first, or only the best
run of each model), a line says which of how many, and a page menu steps through the rest, so the output stays a
screen or two tall whatever the store holds.
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go

from rnnlab.train.runs import load
from rnnlab.viz.compare import (
    FILTER_COLUMNS,
    MAX_DRAWN,
    compare_curves,
    describe_store,
    filter_options,
    filter_runs,
    pick_runs,
    results_beside_papers,
    results_figure,
    run_labels,
    with_data_column,
)

_TABLE_COLUMNS = ["label", "data", "n_params", "status", "epochs_run", "metric", "best_valid", "test",
                  "paper", "paper_value", "comparable", "test_minus_paper"]
EVERY_RUN, BEST_OF_EACH = "every run", "best of each model"


def page_options(count: int, per_page: int = MAX_DRAWN) -> list[tuple[str, int]]:
    """The page menu for ``count`` runs: ``("runs 1–10 of 30", 0)``, ... (one entry, page 0, for none)."""
    pages = max(1, -(-count // per_page))
    return [(f"runs {p * per_page + 1}–{min(count, (p + 1) * per_page)} of {count}" if count else "no runs", p)
            for p in range(pages)]


def compare_dashboard(root: str | Path | None = None, per_page: int = MAX_DRAWN, **initial) -> widgets.VBox:
    """Dropdowns (data actually trained on, dataset asked for, arch, cell, status), what to draw (every run or the
    best of each model), the page, and a reload button; curves, dot plot and table redraw on every change.

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
    draw = widgets.ToggleButtons(options=[EVERY_RUN, BEST_OF_EACH], value=EVERY_RUN, description="draw",
                                 style={"button_width": "140px"})
    page = widgets.Dropdown(description="page", options=page_options(0, per_page), value=0,
                            layout=widgets.Layout(width="260px"))
    refresh_button = widgets.Button(description="reload store", icon="refresh")
    summary = widgets.HTML()
    curves = widgets.Output()  # each shows the figure of the latest redraw (``_show``)
    results = widgets.Output()
    table = widgets.HTML()  # the results as an HTML table (not an Output widget: nothing to capture headless)
    busy = {"paging": False}

    def selection():
        selected = filter_runs(state["runs"], **{c: d.value for c, d in dropdowns.items()})
        return selected, run_labels(selected)

    def redraw(*_):
        if busy["paging"]:
            return
        selected, labels = selection()
        shown, line = pick_runs(selected, page=page.value, per_page=per_page, best_of_each=draw.value == BEST_OF_EACH,
                                labels=labels)
        summary.value = (f"<b>{len(selected)}</b> of {describe_store(state['runs'], root)}<br>"
                         f"<b>Drawn</b>: {line}." if len(selected) else
                         f"<b>0</b> of {describe_store(state['runs'], root)}")
        _show(curves, compare_curves(shown, labels=labels, max_runs=per_page,
                                       title=line[0].upper() + line[1:] if len(selected) else None))
        rows = results_beside_papers(shown)
        rows["label"] = rows["run_dir"].map(labels)
        _show(results, results_figure(rows).update_layout(
            title=dict(text="test metric: ours (filled) and the papers' (diamonds)", font=dict(size=14))))
        columns = rows[[c for c in _TABLE_COLUMNS if c in rows]]
        table.value = columns.to_html(index=False, float_format="{:.3f}".format, na_rep="") if len(rows) else \
            "<i>no runs match the filter</i>"

    def repage(*_):
        """New filters or another choice of what to draw: back to the first page of the new selection."""
        selected, labels = selection()
        count = len(pick_runs(selected, per_page=len(selected) or 1, best_of_each=draw.value == BEST_OF_EACH,
                              labels=labels)[0]) if len(selected) else 0
        busy["paging"] = True
        try:
            page.options = page_options(count, per_page)
            page.value = 0
        finally:
            busy["paging"] = False
        redraw()

    def reload(*_):
        state["runs"] = with_data_column(load(root))
        for column, dropdown in dropdowns.items():
            keep = dropdown.value
            dropdown.options = filter_options(state["runs"], column)
            dropdown.value = keep if keep in dropdown.options else "all"
        repage()

    for control in (*dropdowns.values(), draw):
        control.observe(repage, names="value")
    page.observe(redraw, names="value")
    refresh_button.on_click(reload)
    repage()
    filters = widgets.HBox([*dropdowns.values()], layout=widgets.Layout(flex_flow="row wrap"))
    return widgets.VBox([filters, widgets.HBox([draw, page, refresh_button]), summary, curves, results, table])


def _show(box: widgets.Output, figure: go.Figure) -> None:
    """Show ``figure`` in ``box`` as the notebook shows a static figure (plotly's JSON, drawn by JupyterLab's
    renderer), replacing what it showed.

    Not a FigureWidget: one updated in place keeps what the old layout set (Plotly.js merges layouts: the "no
    finished runs" text and hidden axes stayed), and in JupyterLab a FigureWidget inside a box drew nothing
    (0 traces at 360 px) for the curves of published runs, made fresh or updated."""
    import json

    box.outputs = ({"output_type": "display_data", "metadata": {},
                    "data": {"application/vnd.plotly.v1+json": json.loads(figure.to_json()),
                             "text/plain": f"<figure: {figure.layout.title.text or 'no title'}>"}},)
