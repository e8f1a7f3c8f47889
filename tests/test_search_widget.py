"""Notebook 13's widgets (``rnnlab.viz.search_widget``) and the views under them, driven from Python as a reader's
clicks would: the equations box checks and draws as it is typed into, bad text and bad ids are one line, the
head-to-head is labelled by the reader's name, the search runs in the background (the caller is free meanwhile),
stops on request and holds its state's lock, and the picker reads the live and the committed search."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rnnlab.cells.graph import LIBRARY, parse_equations
from rnnlab.errors import RnnlabError
from rnnlab.search.compare import against_gru, check_cell_name
from rnnlab.search.lock import SearchBusyError
from rnnlab.search.loop import SearchConfig, SearchState, run_search
from rnnlab.search.views import equations_status, find_candidate
from rnnlab.viz.search_widget import CandidatePicker, CellEditor, SearchLauncher, headless, state_file_reader
from tests.conftest import PROJECT_ROOT

COMMITTED = PROJECT_ROOT / "results" / "search" / "state.json"
SMOKE = SearchConfig(seed=0, profile="smoke", settings=1)
BAD_EQUATIONS = ["", "h' = tanh(lin(x)", "h' = foo(x)", "h' = tanh(lin(x))",
                 "f = sigmoid(lin(x))\nh' = tanh(lin(x) + lin(h))", "h' = 1e999 * h",
                 "h = tanh(lin(x) + lin(h))", "c' = c\nh' = tanh(lin(x) + lin(h))", "x" * 30_000]


@pytest.fixture(scope="module")
def committed() -> SearchState:
    return SearchState.load(COMMITTED)


def test_equations_status_is_one_line_for_every_bad_text_and_a_summary_for_a_cell():
    for text in BAD_EQUATIONS:
        graph, line = equations_status(text)
        assert graph is None and line and "\n" not in line and len(line) < 400, (text[:40], line)
        with pytest.raises(RnnlabError):  # the same text is refused by the parser or the validity check
            graph = parse_equations(text)
            from rnnlab.cells.graph import validity_problem

            if validity_problem(graph):
                raise RnnlabError(validity_problem(graph))
    graph, line = equations_status(LIBRARY["lstm"])
    assert graph == parse_equations(LIBRARY["lstm"])
    assert line == f"a valid cell: {graph.n_operations()} operations, 8 weight matrices, two states (h, c)"


def test_find_candidate_takes_ids_names_and_best_and_refuses_the_rest_in_one_line(committed):
    n = len(committed.candidates)
    assert find_candidate(committed, 12)["id"] == find_candidate(committed, "#12")["id"] == 12
    assert find_candidate(committed, "gru")["name"] == "gru" and find_candidate(committed, "LSTM")["name"] == "lstm"
    children = [c for c in committed.top() if c["kind"] == "child"]
    assert find_candidate(committed, -1) is children[0] and find_candidate(committed, "best") is children[0]
    assert find_candidate(committed, n - 1)["id"] == n - 1
    for key in (n, 9999, "abc", "", "-5", 1.5, None):
        with pytest.raises(RnnlabError, match=rf"committed search.*ids 0\.\.{n - 1}") as info:
            find_candidate(committed, key, "the committed search")
        assert "\n" not in str(info.value)


def test_cell_names_are_checked_before_any_training():
    assert check_cell_name(" mine ") == "mine"
    for bad in ("", "  ", "gru", "GRU", "a b", "x" * 41, "semi;colon"):
        with pytest.raises(RnnlabError):
            check_cell_name(bad, taken=("gru",))
    with pytest.raises(RnnlabError, match="not usable: the new state does not depend on the old state"):
        against_gru("mine", "h' = tanh(lin(x))", settings=1, profile="smoke")


def test_the_editor_checks_and_draws_as_typed_and_keeps_the_last_valid_drawing():
    editor = CellEditor(LIBRARY["mgu"], name="mine", settings=1, profile="smoke")
    assert "✓ a valid cell: 12 operations" in editor.status.value
    assert editor.drawing.layout.title.text == "the cell in the box, as a graph"
    editor.text.value = LIBRARY["lstm"]
    assert "two states (h, c)" in editor.status.value
    drawn = [t for trace in editor.drawing.data for t in trace.text]
    assert any(t.startswith("c'") for t in drawn)
    editor.text.value = "h' = tanh(lin(x)"  # typing, half way
    assert "✗ expected ')'" in editor.status.value and "last valid cell" in editor.status.value
    assert [t for trace in editor.drawing.data for t in trace.text] == drawn  # the LSTM stays drawn
    editor.name.value = "gru"
    editor.start()
    assert "✗ cell name 'gru' is taken" in editor.progress.value and not editor.background.running
    editor.name.value = "mine"
    editor.start()
    assert "✗ cell 'mine' is not usable: expected ')'" in editor.progress.value and not editor.background.running


@pytest.mark.slow
def test_train_against_the_gru_labels_the_result_with_the_given_name():
    editor = CellEditor(LIBRARY["mgu"], name="zhou_mgu", settings=1, profile="smoke")
    editor.start(wait=True)
    assert set(editor.table.cell) == {"zhou_mgu", "gru"} and len(editor.table) == 6
    assert {trace.name for trace in editor.bars.data} == {"zhou_mgu", "gru"}
    assert "zhou_mgu against the GRU: 6 runs" in editor.progress.value and "zhou_mgu" in editor.results.value
    assert "mgu<" not in editor.results.value.replace("zhou_mgu<", "")


@pytest.mark.slow
def test_the_launcher_runs_in_the_background_holds_the_lock_stops_and_goes_on(tmp_path):
    launcher = SearchLauncher(tmp_path, steps=40, config=SMOKE, top=5)
    began = time.monotonic()
    launcher.start()
    assert time.monotonic() - began < 2 and launcher.running  # the caller is free while it runs
    deadline = time.monotonic() + 120
    while launcher.state() is None or launcher.state().step < 2:  # the seeds are in: the top list is drawn
        assert time.monotonic() < deadline and launcher.running
        time.sleep(0.2)
    assert "<td>gru</td>" in launcher.board.value and "of 40 (running)" in launcher.headline.value
    with pytest.raises(SearchBusyError):  # one writer per state: the library's lock
        run_search(launcher.path, steps=1)
    launcher.start()
    assert "still running" in launcher.headline.value
    launcher.stop()
    launcher.wait(timeout=120)
    stopped = launcher.state()
    assert not launcher.running and 2 <= stopped.step < 40 and "(stopped)" in launcher.headline.value
    launcher.steps.value = 2
    launcher.start(wait=True)  # start goes on from the saved state
    assert launcher.state().step == stopped.step + 2 and "(finished)" in launcher.headline.value
    first = launcher.path
    launcher.new()
    assert launcher.path != first and launcher.state() is None and first.exists()


def test_the_picker_reads_both_searches_and_an_unknown_id_is_one_line(tmp_path, committed):
    live = tmp_path / "live" / "state.json"
    live_reader = state_file_reader(live)
    picker = CandidatePicker({"the committed search": state_file_reader(COMMITTED), "the live search": live_reader},
                             candidate=-1)
    best = find_candidate(committed, -1)
    assert picker.chosen["id"] == best["id"] and f"candidate #{best['id']}" in picker.line.value
    assert picker.drawing.layout.title.text.startswith(f"candidate #{best['id']}")
    picker.key.value = "9999"
    assert picker.chosen is None and "✗ no candidate 9999 in the committed search" in picker.line.value
    assert picker.card.value == "" and picker.drawing.layout.title.text == "no candidate chosen"
    picker.key.value = "gru"
    assert picker.chosen["name"] == "gru" and "(a seed: no parent)" in picker.card.value
    picker.source.value = "the live search"
    assert "✗ the live search has no state yet" in picker.line.value
    run_search(live, steps=2, config=SMOKE)  # the seeds: gru (0) and lstm (1)
    picker.key.value = "1"
    assert picker.chosen["name"] == "lstm" and "the live search: candidate lstm (id 1 of 0..1)" in picker.line.value
    picker.key.value = "2"
    assert "✗ no candidate 2 in the live search (it holds 2)" in picker.line.value


def test_headless_is_true_without_a_jupyter_server(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert headless()
    monkeypatch.setenv("JPY_SESSION_NAME", str(Path("13_architecture_search.ipynb")))
    assert not headless()


@pytest.mark.slow
def test_the_recipe_13_prints_for_the_winner_loads_a_graph_cell_run_into_04s_explorer(tmp_path):
    """Notebook 13's last cell prints how to look inside the winner after 03 trained it: these exact calls."""
    from rnnlab.data import load_dataset
    from rnnlab.nets.states import record_states
    from rnnlab.search.evaluate import TASK_KNOBS
    from rnnlab.train import TrainConfig, smoke_overrides
    from rnnlab.train.trained import load_trained_model
    from rnnlab.train.trainer import Trainer
    from rnnlab.viz.widgets import DynamicsExplorer

    winner = find_candidate(SearchState.load(COMMITTED), -1)["equations"]
    config = smoke_overrides(TrainConfig(dataset="arithmetic", task_knobs=TASK_KNOBS["arithmetic"], cell="graph",
                                         equations=winner, arch="rnn", hidden=16, optimizer="sgd", lr=1.0,
                                         bptt=None, epochs=1))
    Trainer(config, run_dir=tmp_path / "winner", progress=False).fit()
    ds = load_dataset("arithmetic", **TASK_KNOBS["arithmetic"])
    model, loaded = load_trained_model(tmp_path / "winner", dataset=ds)
    states = record_states(model, ds.splits["valid"][0])
    assert loaded.equations == winner and states.gate_names(states.top)
    DynamicsExplorer({"winner": states})
