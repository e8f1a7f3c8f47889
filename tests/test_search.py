"""The architecture search: each mutation does what it says, children are valid and new, the state is saved after
every evaluation, a stopped search resumes into exactly the uninterrupted sequence, and the CLI checks its input."""

from __future__ import annotations

import json
import random

import pytest

from rnnlab.cells.graph import library_graph, parse_equations, validity_problem
from rnnlab.cells.graph.nodes import BINARY, UNARY
from rnnlab.errors import RnnlabError
from rnnlab.search.loop import SearchConfig, SearchState, run_search
from rnnlab.search.mutate import MUTATIONS, mutate, mutate_once

SMOKE = dict(profile="smoke", settings=1)


def counts(graph):
    ops = [n.op for n in graph.nodes]
    return {k: sum(o in group for o in ops) for k, group in (("unary", UNARY), ("binary", BINARY))}


def test_each_mutation_kind_changes_the_graph_as_described():
    rng = random.Random(0)
    gru = library_graph("gru")
    seen = {}
    for _ in range(400):
        result = mutate_once(gru, rng)
        if result is None:
            continue
        child, what = result
        kind = what.split()[0]
        seen[kind] = seen.get(kind, 0) + 1
        before, after = counts(gru), counts(child)
        if kind in ("swap_activation", "swap_elementwise"):
            assert len(child.nodes) == len(gru.nodes) and child != gru
            old, new = what.split()[1].split("->")
            assert old != new
        elif kind == "insert_activation":
            assert after["unary"] == before["unary"] + 1 and after["binary"] == before["binary"]
        elif kind == "remove_node":
            assert after["unary"] == before["unary"] - 1 and after["binary"] == before["binary"]
        elif kind == "replace_by_ancestor":
            assert child.n_operations() < gru.n_operations()
        else:
            assert kind == "replace_by_combination"
    assert set(seen) == set(MUTATIONS)


def test_literal_remove_and_swap():
    graph = parse_equations("h' = tanh(lin(x) + lin(h)) * sigmoid(h)")
    for seed in range(200):
        result = mutate_once(graph, random.Random(seed))
        if result and result[1] == "remove_node sigmoid":
            assert result[0] == parse_equations("h' = tanh(lin(x) + lin(h)) * h")
            break
    else:
        pytest.fail("remove_node sigmoid never drawn")


def test_children_are_valid_bounded_and_of_one_to_three_transforms():
    rng = random.Random(1)
    sizes = set()
    for name in ("gru", "lstm"):
        for _ in range(60):
            child, steps, p = mutate(library_graph(name), rng, max_operations=30)
            assert validity_problem(child, 30) is None and 1 <= len(steps) <= 3 and 0 <= p <= 1
            assert parse_equations(child.canonical()) == child
            sizes.add(len(steps))
    assert sizes == {1, 2, 3}


def run(path, steps, **kw):
    return run_search(path, steps=steps, config=SearchConfig(seed=3, **SMOKE), engine="inline", **kw)


def test_a_stopped_search_resumes_into_the_same_sequence(tmp_path):
    whole = run(tmp_path / "whole.json", 6)
    stopped = run(tmp_path / "part.json", 6, stop_after_evaluations=3)  # a kill after the 3rd evaluation
    saved = json.loads((tmp_path / "part.json").read_text())
    # batch = 1: two steps applied, the third evaluated and kept as pending (its batch was not yet applied)
    assert len(saved["candidates"]) == 2 and list(saved["pending"]) == ["2"] and stopped.step == 2
    resumed = run(tmp_path / "part.json", 6)
    assert resumed.step == whole.step == 6

    def strip(state):
        return [{k: v for k, v in c.items() if k != "evaluations"} | {"scores": [e["scores"] for e in c["evaluations"]]}
                for c in state.candidates]

    assert strip(resumed) == strip(whole)
    assert [c["kind"] for c in whole.candidates[:2]] == ["seed", "seed"]
    assert {c["name"] for c in whole.candidates[:2]} == {"gru", "lstm"}
    assert len({c["equations"] for c in whole.candidates}) == len(whole.candidates)  # no duplicates
    child = next(c for c in whole.candidates if c["kind"] == "child")
    assert child["parent"] in (0, 1) and child["mutations"]
    # a different seed proposes differently
    other = run_search(tmp_path / "other.json", steps=3, config=SearchConfig(seed=4, **SMOKE), engine="inline")
    assert strip(other) != strip(whole)[:3]


def test_state_round_trips_and_fitness_is_relative_to_the_gru(tmp_path):
    state = run(tmp_path / "s.json", 4)
    loaded = SearchState.load(tmp_path / "s.json")
    assert loaded.candidates == state.candidates and loaded.config == state.config
    gru = loaded.by_name("gru")
    assert loaded.fitness(gru) == 1.0
    for c in loaded.top():
        expected = min((c["best"][t] + 1e-3) / (gru["best"][t] + 1e-3) for t in ("arithmetic", "xml"))
        assert loaded.fitness(c) == pytest.approx(expected)


def test_local_engine_gives_the_same_results_as_inline(tmp_path):
    a = run_search(tmp_path / "a.json", steps=3, config=SearchConfig(seed=5, batch=2, **SMOKE), engine="inline")
    b = run_search(tmp_path / "b.json", steps=3, config=SearchConfig(seed=5, batch=2, **SMOKE), engine="local")
    assert [c["best"] for c in a.candidates] == [c["best"] for c in b.candidates]


def test_cli_rejects_bad_input_and_shows_the_top(tmp_path, capsys):
    from rnnlab.cli import main

    assert main(["search", "--state", str(tmp_path / "s.json"), "--engine", "slurm"]) == 2
    assert "unknown engine 'slurm'; valid choices: inline, local, ray" in capsys.readouterr().err
    assert main(["search", "--state", str(tmp_path / "s.json"), "--until", "25:99"]) == 2
    assert "--until takes a local time HH:MM, got '25:99'" in capsys.readouterr().err
    assert main(["search", "--state", str(tmp_path / "none.json"), "--show", "3"]) == 2
    assert "no search state" in capsys.readouterr().err
    assert main(["search", "--state", str(tmp_path / "s.json"), "--steps", "3", "--profile", "smoke",
                 "--engine", "inline"]) == 0
    assert main(["search", "--state", str(tmp_path / "s.json"), "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert "3 candidates" in out and "gru" in out
    assert main(["search", "--state", str(tmp_path / "s.json"), "--compare", "1", "--settings", "1", "--engine",
                 "inline", "--out", str(tmp_path / "cmp.csv")]) == 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "cmp.csv")
    assert {"gru", "lstm_b", "mut1"} <= set(table["cell"]) and set(table["task"]) == {"memorize", "arithmetic", "xml"}
    with pytest.raises(RnnlabError, match="is not a search state"):
        (tmp_path / "bad.json").write_text("{")
        SearchState.load(tmp_path / "bad.json")


def test_views_and_comparison_on_a_smoke_search(tmp_path):
    from rnnlab.search.compare import compare_cells
    from rnnlab.search.views import accuracy_bars, candidate_table, equations_diff, history_figure, top_table

    state = run(tmp_path / "s.json", 5)
    table = top_table(state, 3)
    assert list(table["rank"]) == list(range(1, len(table) + 1)) and table["fitness"].is_monotonic_decreasing
    assert "gru" in set(table["candidate"])
    evaluations = candidate_table(state, 0)
    assert set(evaluations["task"]) == {"memorize", "arithmetic", "xml"}
    assert len(history_figure(state).data) >= 1
    diff = equations_diff(state, 0, 1)
    assert diff.startswith("--- gru\n+++ lstm") and "+c' = " in diff
    assert equations_diff(state, 0, 0) == "(identical)"
    cells = {"gru": state.candidates[0]["equations"], "other": state.candidates[1]["equations"]}
    comparison = compare_cells(cells, settings=1, profile="smoke")
    assert len(comparison) == 6 and set(comparison["task"]) == {"memorize", "arithmetic", "xml"}
    gru = comparison[comparison.cell == "gru"]
    assert (gru["best_vs_gru"].dropna() == 1.0).all()
    # the same settings give the same scores as the search's own evaluation of the GRU would with those settings
    assert len(accuracy_bars(comparison).data) == 2


def test_parallel_engines_return_every_item_once():
    from rnnlab.parallel import map_unordered

    inline = dict(map_unordered(abs, [-3, 1, -2], engine="inline"))
    assert inline == {0: 3, 1: 1, 2: 2}
    with pytest.raises(RnnlabError, match="unknown engine 'threads'; valid choices: inline, local, ray"):
        list(map_unordered(abs, [1], engine="threads"))
    with pytest.raises(RnnlabError, match="workers must be an integer >= 1, got 0"):
        list(map_unordered(abs, [1], engine="inline", workers=0))


def test_a_transform_that_makes_no_cell_is_redrawn_not_raised():
    """Regression: replacing the output of h' = tanh(W x + W h) by its ancestor h made h' = h, and the error
    stopped the real search; now such a draw is redrawn."""
    from rnnlab.cells.graph.nodes import LEAVES

    graph = parse_equations("h' = tanh(lin(x) + lin(h))")
    raised = 0
    for seed in range(300):
        try:
            mutate_once(graph, random.Random(seed))
        except RnnlabError:
            raised += 1
    assert raised > 0  # the bare transform can produce h' = h (or h' = x) ...
    rng = random.Random(0)
    for _ in range(200):  # ... but a child never is one
        child, _, _ = mutate(graph, rng)
        assert child.nodes[child.outputs[0]].op not in LEAVES and validity_problem(child) is None


# ------------------------------------------------------------------------- same settings for every cell, extendable
def test_setting_k_is_drawn_the_same_whatever_the_number_of_settings():
    from rnnlab.search.compare import setting_draws

    assert setting_draws("xml", 7)[:3] == setting_draws("xml", 3)
    assert setting_draws("xml", 3) != setting_draws("arithmetic", 3)
    assert setting_draws("xml", 3, seed=1) != setting_draws("xml", 3, seed=0)


def test_sign_test_is_the_two_sided_binomial_tail():
    from rnnlab.search.compare import sign_test

    assert sign_test(8, 0) == sign_test(0, 8) == 2 / 256
    assert sign_test(9, 3) == 2 * (1 + 12 + 66 + 220) / 4096
    assert sign_test(5, 5) == 1.0 and sign_test(0, 0) == 1.0


def test_paired_orderings_count_wins_and_bound_the_difference_of_bests():
    import pandas as pd

    from rnnlab.search.compare import paired_orderings

    rows = [dict(cell=c, task="xml", setting=k, accuracy=acc)
            for k in range(10) for c, acc in (("a", 0.5 + 0.01 * k), ("b", 0.4 + 0.01 * k), ("c", 0.5 + 0.01 * k))]
    rows.append(dict(cell="a", task="xml", setting=10, accuracy=0.99))  # b never ran setting 10: left out
    table = paired_orderings(pd.DataFrame(rows), [("a", ">", "b"), ("c", ">=", "a"), ("b", ">", "a")])
    ab, ca, ba = (table.iloc[i] for i in range(3))
    assert (ab.settings, ab.wins, ab.losses, ab.ties, ab.best_left, ab.best_right) == (10, 10, 0, 0, 0.59, 0.49)
    assert ab.holds and ab.sign_p == round(2 / 1024, 4) and ab.best_diff_lo > 0.05
    assert ca.holds and (ca.wins, ca.losses, ca.ties, ca.sign_p) == (0, 0, 10, 1.0)
    assert not ba.holds and ba.best_diff_hi < 0


def test_compare_settings_skips_done_settings_and_reports_each_row(tmp_path):
    from rnnlab.cells.graph import LIBRARY
    from rnnlab.search.compare import SETTING_COLUMNS, compare_settings, summarize

    seen = []
    cells = {"gru": LIBRARY["gru"], "mut1": LIBRARY["mut1"]}
    done = {("gru", "xml", 0), ("mut1", "memorize", 1)}
    rows = compare_settings(cells, settings=2, profile="smoke", done=done, on_row=seen.append)
    assert list(rows.columns) == list(SETTING_COLUMNS) and len(rows) == 2 * 3 * 2 - 2 == len(seen)
    assert not set(zip(rows.cell, rows.task, rows.setting, strict=True)) & done
    summary = summarize(rows, ["mut1", "gru"])
    assert list(dict.fromkeys(summary.cell)) == ["mut1", "gru"]
    assert summary.set_index(["cell", "task"]).loc[("gru", "xml"), "settings"] == 1
