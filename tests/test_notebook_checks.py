"""The checks nbval applies to notebook outputs (tests/notebook_checks.py): they read what Plotly, pandas and the
kernel really emit, each of them can fail, and tests/notebook_expectations.py names only cells that exist."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import nbformat
import pandas as pd
import plotly.graph_objects as go
import pytest

from tests.conftest import PROJECT_ROOT
from tests.notebook_checks import (
    PLOTLY,
    Figure,
    Html,
    Markdown,
    Table,
    Text,
    Widget,
    cell_problems,
    parse_table,
)
from tests.notebook_expectations import EXPECTATIONS, PENDING

NOTEBOOKS = {path.name: path for path in sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))}


def figure_output(figure: go.Figure) -> dict:
    return {"output_type": "display_data", "data": {PLOTLY: json.loads(figure.to_json()), "text/plain": ""}}


def table_output(table) -> dict:
    return {"output_type": "execute_result", "data": {"text/html": table._repr_html_(), "text/plain": str(table)}}


def stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def curves_figure(nan: bool = False, empty: bool = False) -> go.Figure:
    figure = go.Figure(layout={"title": "GRU on jsb"})
    figure.add_scatter(x=[1, 2, 3], y=[9.0, 8.5, float("nan") if nan else 8.2], name="GRU train")
    figure.add_scatter(x=[] if empty else [1, 3], y=[] if empty else [8.9, 8.4], name="GRU valid")
    return figure


# ------------------------------------------------------------------------------------------- the expectations file


@pytest.mark.parametrize("book", [EXPECTATIONS, PENDING], ids=["EXPECTATIONS", "PENDING"])
def test_every_expectation_names_a_code_cell_of_a_notebook(book):
    for name, cells in book.items():
        assert name in NOTEBOOKS, f"{name}: no such notebook in notebooks/"
        code_ids = {c.get("id") for c in nbformat.read(NOTEBOOKS[name], as_version=4).cells if c.cell_type == "code"}
        unknown = sorted(set(cells) - code_ids)
        assert not unknown, f"{name}: no code cell with id {unknown} (python -m tests.notebook_checks {name})"
        assert all(cells.values()), f"{name}: a cell listed without checks"


def test_every_notebook_has_output_checks_or_is_pending():
    assert not set(EXPECTATIONS) & set(PENDING)
    assert sorted(set(EXPECTATIONS) | set(PENDING)) == sorted(NOTEBOOKS)


# ------------------------------------------------------------------------------------------- figures


def test_figure_check_passes_on_what_it_describes():
    checks = [Figure(traces=2, names={"GRU train", "GRU valid"}, types={"scatter"}, title="^GRU on", y=(0, 100))]
    assert cell_problems([figure_output(curves_figure())], checks) == []


@pytest.mark.parametrize("check, message", [
    (Figure(traces=3), "2 traces, expected 3"),
    (Figure(traces=(3, 5)), "2 traces, expected between 3 and 5"),
    (Figure(names={"GRU train"}), "trace names"),
    (Figure(has_names=["LSTM valid"]), "no trace named ['LSTM valid']"),
    (Figure(types={"heatmap"}), "trace types ['scatter']"),
    (Figure(title="LSTM"), "title 'GRU on jsb' does not match"),
    (Figure(y=(0, 8.3)), "y values span 8.2..9"),
    (Figure(min_points=3), "fewer than 3 points: ['GRU valid (2)']"),
])
def test_every_figure_check_can_fail(check, message):
    problems = cell_problems([figure_output(curves_figure())], [check])
    assert len(problems) == 1 and message in problems[0], problems


def test_a_figure_with_nan_or_empty_traces_fails():
    assert "1 NaN" in cell_problems([figure_output(curves_figure(nan=True))], [Figure(y=(0, 100))])[0]
    assert "fewer than 1 points" in cell_problems([figure_output(curves_figure(empty=True))], [Figure()])[0]


def test_heatmap_points_come_from_plotly_typed_arrays():
    figure = go.Figure(go.Heatmap(z=[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], name="activations"))
    assert cell_problems([figure_output(figure)], [Figure(traces=1, types={"heatmap"}, min_points=6)]) == []
    assert cell_problems([figure_output(figure)], [Figure(min_points=7)])


# ------------------------------------------------------------------------------------------- tables


def test_table_reads_shape_columns_index_and_values():
    frame = pd.DataFrame({"model": ["GRU", "DT(S)-RNN"], "test nll": [8.41, 8.52], "status": ["ok", "ok"]})
    parsed = parse_table(frame._repr_html_())
    assert parsed.shape == (2, 3) and parsed.columns == ["model", "test nll", "status"]
    good = Table(rows=2, columns=["model", "test nll", "status"], index=["0", "1"],
                 values={"test nll": (8, 9), "status": {"ok"}, "model": r"GRU|DT\(S\)-RNN"})
    assert cell_problems([table_output(frame)], [good]) == []


@pytest.mark.parametrize("check, message", [
    (Table(rows=3), "2 rows, expected 3"),
    (Table(columns=["model", "status"]), "columns ['model', 'test nll', 'status'], expected"),
    (Table(has_columns=["best valid"]), "no column ['best valid']"),
    (Table(index=["a", "b"]), "index ['0', '1']"),
    (Table(values={"test nll": (0, 8.5)}), "column 'test nll': ['8.52'] not numbers within (0, 8.5)"),
    (Table(values={"status": {"done"}}), "column 'status': ['ok', 'ok'] not in ['done']"),
    (Table(values={"model": "GRU"}), "column 'model': ['DT(S)-RNN'] not matching 'GRU'"),
    (Table(values={"paper": (0, 1)}), "no column 'paper' to check"),
])
def test_every_table_check_can_fail(check, message):
    frame = pd.DataFrame({"model": ["GRU", "DT(S)-RNN"], "test nll": [8.41, 8.52], "status": ["ok", "ok"]})
    problems = cell_problems([table_output(frame)], [check])
    assert len(problems) == 1 and message in problems[0], problems


def test_a_nan_in_a_checked_column_fails():
    frame = pd.DataFrame({"test nll": [8.4, float("nan")]})
    assert "'NaN'" in cell_problems([table_output(frame)], [Table(values={"test nll": (0, 100)})])[0]


def test_table_with_row_and_column_multiindex_and_a_styler():
    stats = pd.concat({"jsb": pd.DataFrame({"sequences": [24, 24]}, index=pd.Index(["train", "valid"], name="split"))},
                      names=["dataset"])
    parsed = parse_table(stats._repr_html_())
    assert parsed.index_labels == ["dataset", "split"] and parsed.columns == ["sequences"]
    assert [row[:2] for row in parsed.body] == [["jsb", "train"], ["jsb", "valid"]]  # rowspan carried down
    assert cell_problems([table_output(stats)], [Table(rows=2, values={"dataset": {"jsb"}, "sequences": (24, 24)})]) \
        == []
    wide = pd.DataFrame([[0.3, 0.9], [0.4, 0.8]], index=pd.Index(["tanh", "gru"], name="cell"),
                        columns=pd.MultiIndex.from_tuples([("ours", "xml"), ("paper", "xml")]))
    for shown in (wide, wide.style.format("{:.3g}")):
        parsed = parse_table(shown._repr_html_())
        assert parsed.columns == ["ours / xml", "paper / xml"] and parsed.index_labels == ["cell"]
        assert cell_problems([table_output(shown)], [Table(rows=2, index=["tanh", "gru"], values={"paper": (0, 1)})]) \
            == []
        assert cell_problems([table_output(shown)], [Table(values={"xml": (0, 0.5)})])


def test_an_elided_display_still_reports_the_whole_shape():
    frame = pd.DataFrame({"x": range(100)})
    with pd.option_context("display.max_rows", 10, "display.min_rows", 4):
        output = table_output(frame)
    assert parse_table(output["data"]["text/html"]).shape == (100, 1)
    assert cell_problems([output], [Table(rows=100, values={"x": (0, 99)})]) == []


# ------------------------------------------------------------------------------------------- text, rich outputs


def test_text_checks_search_stdout_and_plain_displays():
    outputs = [stdout("data: jsb -- canonical\n"), stdout("120 runs published\n"),
               {"output_type": "display_data", "data": {"text/plain": "{'candidates': 4}"}}]
    assert cell_problems(outputs, [Text(r"data: jsb"), Text(r"(\d+) runs published", between=(100, 200)),
                                   Text(r"'candidates': (\d+)", between=(2, 9))]) == []
    assert "does not match 'data: ptb'" in cell_problems(outputs, [Text("data: ptb")])[0]
    assert "[120.0] outside (0, 100)" in cell_problems(outputs, [Text(r"(\d+) runs", between=(0, 100))])[0]


def test_rich_outputs_are_matched_by_kind_and_counted():
    widget = {"output_type": "display_data", "data": {"text/plain": "VBox(children=(Dropdown(description='cell'",
                                                      "application/vnd.jupyter.widget-view+json": {"model_id": "x"}}}
    audio = {"output_type": "display_data",
             "data": {"text/plain": "<Audio>", "text/html": '<audio controls="controls">'}}
    note = {"output_type": "display_data", "data": {"text/plain": "<Markdown>", "text/markdown": "**gru**"}}
    outputs = [widget, audio, note]
    assert cell_problems(outputs, [Widget("description='cell'"), Html("<audio"), Markdown(r"\*\*gru")]) == []
    assert "does not match" in cell_problems(outputs, [Widget("Slider"), Html("<audio"), Markdown("gru")])[0]
    missing = cell_problems(outputs, [Widget(), Html(), Markdown(), Html()])
    assert missing == ["shows 1 html(s), expected 2"]


def test_an_unexpected_extra_figure_or_a_missing_table_fails():
    outputs = [figure_output(curves_figure()), figure_output(curves_figure())]
    assert cell_problems(outputs, [Figure(traces=2)]) == ["shows 2 figure(s), expected 1"]
    assert cell_problems(outputs, [Figure(), Figure(), Table()]) == ["shows 0 table(s), expected 1"]


# ------------------------------------------------------------------------------------------- under nbval


NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "id": "right", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "import pandas as pd\nprint('120 runs published')\n"
                   "pd.DataFrame({'model': ['GRU', 'LSTM'], 'test nll': [8.4, 8.5]})"},
        {"cell_type": "code", "id": "wrong", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "pd.DataFrame({'model': ['GRU', 'LSTM'], 'test nll': [8.4, 8.5]})"},
        {"cell_type": "code", "id": "unchecked", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "print('anything')"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


@pytest.mark.slow
def test_nbval_run_fails_the_cell_whose_outputs_miss_their_expectation(tmp_path):
    """The hook of notebooks/conftest.py, wired into a real nbval run of a three-cell notebook: the cell whose table
    has 2 rows where 3 are expected fails with the check's message; the right and the unchecked cells pass."""
    (tmp_path / "demo.ipynb").write_text(json.dumps(NOTEBOOK))
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""
        import sys
        import pytest
        sys.path.insert(0, {str(PROJECT_ROOT)!r})
        from tests.notebook_checks import Table, Text, check_notebook_cell

        EXPECTED = {{"demo.ipynb": {{"right": [Text(r"(\\d+) runs published", between=(100, 200)),
                                              Table(rows=2, values={{"test nll": (0, 100)}})],
                                    "wrong": [Table(rows=3)]}}}}

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_call(item):
            result = yield
            check_notebook_cell(item, EXPECTED)
            return result
    """))
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p",
                          "no:cacheprovider", "-q", "demo.ipynb"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert "1 failed, 2 passed in" in run.stdout, run.stdout + run.stderr
    assert "FAILED demo.ipynb::Cell 1" in run.stdout
    assert "demo.ipynb cell 1 (id wrong) ran, but its outputs fail" in run.stdout
    assert "table 1: 2 rows, expected 3" in run.stdout
