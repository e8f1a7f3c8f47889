"""Every notebook's first code cell: ``setup_notebook`` refuses an undeclared papermill parameter in one line, and
settles smoke, seed, device and where runs and figures go by one rule."""

from __future__ import annotations

import json
import random

import nbformat
import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.notebook_parameters import check_history, declared_names
from rnnlab.notebook_setup import setup_notebook
from rnnlab.workbook import workbook_notebooks
from tests.conftest import PROJECT_ROOT

PARAMETERS = '''hidden: int = 64  # width
seed: int = 0  # seed
smoke: bool = False  # CI
run_root: str = ""  # runs
'''
SETUP = "nb = setup_notebook(globals())"


def injected(**values) -> str:
    """papermill's injected cell, written by papermill itself."""
    from papermill.translators import translate_parameters

    return translate_parameters("python", "python", values, "Parameters")


def namespace(history, **values) -> dict:
    ns = {"hidden": 64, "seed": 0, "smoke": False, "run_root": "", "In": history}
    ns.update(values)
    return ns


def test_declared_names_are_the_annotated_assignments_of_the_parameters_cell():
    assert declared_names(PARAMETERS) == ["hidden", "seed", "smoke", "run_root"]
    assert declared_names("x = 1\nprint(x)") is None  # not a parameters cell
    assert declared_names(injected(hidden=9)) is None  # papermill's cell declares nothing


def test_a_misspelt_injected_parameter_is_one_line_naming_it_and_the_closest_valid_one():
    history = ["", PARAMETERS, injected(hiden=9), SETUP]
    assert injected(hiden=9).startswith("# Parameters")
    with pytest.raises(RnnlabError) as err:
        setup_notebook(namespace(history, hiden=9))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("unknown notebook parameter 'hiden'; did you mean 'hidden'? valid parameters: ")
    assert "hidden, run_root, seed, smoke" in message


def test_declared_injected_parameters_pass_and_are_returned():
    history = ["", PARAMETERS, injected(hidden=9, smoke=True), SETUP]
    nb = setup_notebook(namespace(history, hidden=9, smoke=True))
    assert dict(nb.parameters) == {"hidden": 9, "seed": 0, "smoke": True, "run_root": ""}
    assert nb.smoke is True


def test_interactive_use_without_an_injected_cell_refuses_nothing():
    assert check_history(["", PARAMETERS, "hiden = 9", SETUP]) == ["hidden", "seed", "smoke", "run_root"]
    assert check_history([]) is None
    nb = setup_notebook({"In": ["", "import math"], "seed": 3})  # no parameters cell at all, nothing injected
    assert nb.seed == 3 and dict(nb.parameters) == {"seed": 3}


def test_the_parameters_cell_is_the_one_that_ran_before_the_injected_cell():
    # a cell with annotations run after the injection (a user's own) does not widen the declared names
    history = ["", PARAMETERS, injected(hidden=9), "width: int = 3", SETUP]
    check_history(history)
    with pytest.raises(RnnlabError, match="unknown notebook parameter 'width'; valid parameters: hidden, "):
        check_history(["", "width: int = 3", PARAMETERS, injected(width=9), SETUP])


def test_an_injection_without_a_parameters_cell_is_one_line():
    with pytest.raises(RnnlabError, match="papermill injected 'hidden' but the notebook has no parameters cell"):
        check_history(["", injected(hidden=9), SETUP])


def test_smoke_seed_device_and_folders(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNLAB_SMOKE", raising=False)
    monkeypatch.setenv("RNNLAB_RUNS", str(tmp_path / "store"))
    monkeypatch.setenv("RNNLAB_FIGURES", str(tmp_path / "figs"))
    ns = namespace(["", PARAMETERS, SETUP], seed=7)
    nb = setup_notebook(ns, name="quickstart")
    assert (nb.smoke, nb.seed, nb.device) == (False, 7, torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    assert nb.runs_dir == tmp_path / "store" / "quickstart" and nb.figures_dir == tmp_path / "figs"
    first = (random.random(), torch.rand(1).item())
    setup_notebook(ns, name="quickstart")
    assert (random.random(), torch.rand(1).item()) == first  # seeded again, the same numbers

    monkeypatch.setenv("RNNLAB_SMOKE", "1")  # the environment turns smoke on, and the namespace follows
    nb = setup_notebook(ns, name="quickstart")
    assert nb.smoke is True and ns["smoke"] is True
    assert nb.runs_dir.name.startswith("rnnlab-quickstart-") and not nb.runs_dir.exists()  # made when written
    assert nb.figures_dir == nb.runs_dir / "figures"
    assert setup_notebook(ns, name="quickstart").runs_dir != nb.runs_dir  # a fresh folder each time

    ns["run_root"] = str(tmp_path / "mine")  # a given run_root wins in both profiles
    assert setup_notebook(ns).runs_dir == tmp_path / "mine"


def test_bad_values_are_one_line():
    with pytest.raises(RnnlabError, match="unknown device 'gpu'"):
        setup_notebook({"device": "gpu"})
    with pytest.raises(RnnlabError, match="seed must be an integer, not '1'"):
        setup_notebook({"seed": "1"})
    with pytest.raises(RnnlabError, match="notebook name 'a/b'"):
        setup_notebook({}, name="a/b")


def test_save_figure_writes_into_the_figures_folder_without_png_in_smoke(tmp_path, monkeypatch):
    import plotly.graph_objects as go

    monkeypatch.setenv("RNNLAB_SMOKE", "1")
    nb = setup_notebook({"run_root": str(tmp_path)})
    written = nb.save_figure(go.Figure(go.Scatter(y=[1, 2])), "probe")
    assert written == {"html": tmp_path / "figures" / "probe.html"} and written["html"].exists()


# ------------------------------------------------------------------------------------------- the notebooks
SETUP_NOTEBOOKS = [p for p in workbook_notebooks() if "setup_notebook(globals()" in p.read_text()]


def test_the_notebooks_call_setup_notebook_in_their_first_code_cell_after_the_parameters():
    assert {p.name for p in SETUP_NOTEBOOKS} >= {"00_quickstart.ipynb", "01_datasets.ipynb", "02_cells.ipynb",
                                                "03_train.ipynb", "04_hidden_dynamics.ipynb",
                                                "05_gradient_flow.ipynb", "07_generate.ipynb"}
    for path in SETUP_NOTEBOOKS:
        code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), path.name
        assert "setup_notebook(globals()" in code[1].source, path.name


@pytest.mark.parametrize("path", SETUP_NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_refuses_a_misspelt_parameter_as_papermill_injects_it(path):
    """In-process: the notebook's own parameters cell, papermill's own injection of ``-p seeed 9`` (every notebook
    declares ``seed``)."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(path)), {"seeed": 9})
    history = [""] + [c.source for c in nb.cells if c.cell_type == "code"][:2]
    assert "injected-parameters" in nb.cells[[c.cell_type for c in nb.cells].index("code") + 1].metadata.tags
    with pytest.raises(RnnlabError, match=r"^unknown notebook parameter 'seeed'; did you mean 'seed'\? "):
        check_history(history)
    assert check_history(history[:2]) is not None  # the parameters cell alone: nothing refused


@pytest.mark.slow
@pytest.mark.parametrize("name", ["00_quickstart", "05_gradient_flow"])
def test_a_real_papermill_run_with_a_misspelt_parameter_fails_in_one_line(tmp_path, name):
    import papermill as pm

    out = tmp_path / "out.ipynb"
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(PROJECT_ROOT / "notebooks" / f"{name}.ipynb"), str(out),
                            parameters={"hiden": 9, "smoke": True}, cwd=str(PROJECT_ROOT / "notebooks"),
                            progress_bar=False, kernel_name="python3")
    assert err.value.evalue.startswith("unknown notebook parameter 'hiden'; did you mean 'hidden'? ")
    cells = json.loads(out.read_text())["cells"]
    errors = [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert len(errors) == 1 and len(errors[0]["traceback"]) == 1  # the one line, not a wall of frames
    failed = next(c for c in cells if c.get("outputs") and c["outputs"][-1].get("output_type") == "error")
    assert "setup_notebook(globals()" in "".join(failed["source"])  # the first cell after the parameters


def test_03s_live_curves_name_the_metric_on_their_y_axes_once_training_begins():
    from types import SimpleNamespace

    from rnnlab.viz.curves import LiveCurves

    curves = LiveCurves("rnn/tanh", widget=True)  # drawn before the trainer knows its data's metric
    curves.on_train_begin(SimpleNamespace(metric="bpc"))
    assert (curves.widget.layout.yaxis.title.text, curves.widget.layout.yaxis2.title.text) == ("bpc", "bpc")
    curves.on_epoch_end(None, {"epoch": 1, "updates": 5, "wall_seconds": 1.0, "valid_metric": 2.0})
    assert curves.widget.data[-1].name == "rnn/tanh valid (bpc)" and curves.figure().layout.yaxis.title.text == "bpc"


# ------------------------------------------------------------------ what the notebooks moved into the library
def test_cell_zoo_has_one_row_per_registered_cell_counted_by_torch():
    from rnnlab.cells import CELLS
    from rnnlab.nets import build_model
    from rnnlab.viz.cells_view import cell_zoo

    zoo = cell_zoo(hidden=8).set_index("cell")
    assert list(zoo.index) == list(CELLS)
    for name in ("tanh", "lstm", "gru"):
        model = build_model(arch="rnn", cell=name, n_in=88, n_out=88, hidden=8)
        assert zoo.loc[name, "parameters (hidden 8)"] == sum(p.numel() for p in model.parameters())
    assert zoo.loc["lstm", "state"] == "h, c" and zoo.loc["tanh", "state"] == "h"
    assert zoo.loc["gru", "gates recorded"] != "-" and zoo.loc["tanh", "gates recorded"] == "-"
    with pytest.raises(RnnlabError, match="unknown cell 'lstn'"):
        from rnnlab.viz.cells_view import cell_summary

        cell_summary("lstn")


def test_cost_table_ratios_are_to_the_plain_rnn_of_the_same_cell():
    from rnnlab.nets.cost import cost_table
    from rnnlab.viz.cells_view import cost_figure

    costs = cost_table(("tanh", "gru"), ("rnn", "dt-rnn"), hidden=8, batch_size=2, steps=3, repeats=1)
    assert list(zip(costs.cell, costs.arch, strict=True)) == [("tanh", "rnn"), ("tanh", "dt-rnn"), ("gru", "rnn"),
                                                               ("gru", "dt-rnn")]
    for _, part in costs.groupby("cell"):
        rnn, deep = part.iloc[0], part.iloc[1]
        assert rnn["FLOP ratio"] == 1 and rnn["time ratio"] == 1
        assert deep["FLOP ratio"] == pytest.approx(deep["weights"] / rnn["weights"])  # 2 FLOPs per weight
        assert deep["MFLOP/step"] == pytest.approx(2 * deep["weights"] / 1e6)
    figure = cost_figure(costs, title="t")
    assert [t.name for t in figure.data] == ["tanh", "gru"] and list(figure.data[1].text) == ["rnn", "dt-rnn"]


def test_pick_music_run_unlike_skips_the_chosen_kind():
    import pandas as pd

    from rnnlab.generate import pick_music_run

    source = "canonical jsb (polyphonic/JSB Chorales.pickle)"
    runs = pd.DataFrame([{"run_dir": d, "dataset": "jsb", "data_source": source, "status": "ok", "test_nll": nll,
                          "arch": arch, "cell": cell}
                         for d, nll, arch, cell in [("a", 8.0, "rnn", "gru"), ("b", 8.2, "rnn", "gru"),
                                                    ("c", 8.5, "dts-rnn", "gru"), ("d", 8.4, "rnn", "lstm")]])
    assert pick_music_run(runs, "canonical jsb") == "a"
    assert pick_music_run(runs, "canonical jsb", unlike=("rnn", "gru")) == "d"
    assert pick_music_run(runs[runs.cell == "gru"], "canonical jsb", unlike=("rnn", "gru")) == "c"
    assert pick_music_run(runs[runs.run_dir == "a"], "canonical jsb", unlike=("rnn", "gru")) is None
    assert pick_music_run(None, "canonical jsb", unlike=("rnn", "gru")) is None


def test_load_dataset_is_smaller_in_smoke_and_says_which_data(monkeypatch, capsys):
    monkeypatch.setenv("RNNLAB_SMOKE", "1")
    nb = setup_notebook({"seed": 0})
    data = nb.load_dataset("memorize", smoke_sequences=5)
    assert len(data.splits["train"]) == 5
    assert capsys.readouterr().out == f"data: memorize -- {data.source}\n"


def test_a_refreshed_figure_widget_holds_its_figure_in_the_state_a_new_view_draws_from():
    """04's and 05's explorers draw before they are shown, inside a box: the browser's view is drawn from
    ``_widget_data``/``_widget_layout``, which plotly fills only when the FigureWidget itself is displayed."""
    import plotly.graph_objects as go

    from rnnlab.viz.widgets import refresh

    widget = go.FigureWidget()
    refresh(widget, go.Figure(go.Scatter(x=[0, 1], y=[2, 3]), layout=dict(title="first")))
    assert [t["y"] for t in widget._widget_data] == [[2, 3]] and widget._widget_layout["title"]["text"] == "first"
    refresh(widget, go.Figure([go.Bar(y=[1]), go.Bar(y=[4])], layout=dict(title="second")))
    assert [t["type"] for t in widget._widget_data] == ["bar", "bar"]
    assert widget._widget_layout["title"]["text"] == "second"
