"""rnnlab.search.table1 (``rnnlab table1``): one row per cell, task and setting, recorded as it finishes; a larger
``settings`` trains only the missing rows and keeps the others; a row whose hyperparameters are not setting k's is
retrained. The ablations it trains are the library's graphs (tests/test_graph_cells.py holds them equal to
cells/lstm_ablations.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from rnnlab.cells.graph.library import LIBRARY
from rnnlab.cli import main as cli_main
from rnnlab.errors import RnnlabError
from rnnlab.search.table1 import run_table1, table1_cells


def table1(out, settings):
    lines = []
    run_table1(out, settings, profile="smoke", engine="inline", workers=1, log=lines.append)
    return "\n".join(lines)


def test_the_ten_cells_of_table1_are_library_graphs_in_the_papers_order():
    assert table1_cells() == ("tanh", "lstm", "lstm_nof", "lstm_noi", "lstm_noo", "lstm_b", "gru", "mut1", "mut2",
                              "mut3")
    assert set(table1_cells()) <= set(LIBRARY)


@pytest.mark.slow
def test_more_settings_train_only_the_missing_rows(tmp_path):
    first = table1(tmp_path, 1)
    assert first.startswith("0 settings recorded") and "30 to train" in first
    rows = pd.read_csv(tmp_path / "table1_settings.csv")
    assert len(rows) == 30 and set(rows.setting) == {0}
    rows.loc[0, "lr"] = 9.99  # no longer setting 0's draw: it must be trained again
    rows.to_csv(tmp_path / "table1_settings.csv", index=False)
    second = table1(tmp_path, 2)
    assert second.startswith("29 settings recorded") and "31 to train" in second
    again = pd.read_csv(tmp_path / "table1_settings.csv")
    assert len(again) == 60 and 9.99 not in set(again.lr)
    kept = again[again.setting == 0].set_index(["cell", "task"]).drop(index=[(rows.cell[0], rows.task[0])])
    assert kept.equals(rows.iloc[1:].set_index(["cell", "task"]).loc[kept.index])
    summary = pd.read_csv(tmp_path / "table1_search_scale.csv")
    assert len(summary) == 30 and set(summary.settings) == {2}
    orderings = pd.read_csv(tmp_path / "table1_orderings.csv")
    assert set(orderings.task) == {"arithmetic", "xml"} and len(orderings) == 16
    assert table1(tmp_path, 1).startswith("60 settings recorded")  # fewer settings: the rows stay
    assert len(pd.read_csv(tmp_path / "table1_settings.csv")) == 60
    assert set(pd.read_csv(tmp_path / "table1_search_scale.csv").settings) == {1}


def test_a_foreign_settings_file_and_bad_arguments_are_one_line(tmp_path, capsys):
    (tmp_path / "table1_settings.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RnnlabError, match="columns .* are not .*move it aside"):
        table1(tmp_path, 1)
    assert cli_main(["table1", "--settings", "0", "--out", str(tmp_path / "new")]) == 2
    assert cli_main(["table1", "--profile", "big", "--out", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rnnlab table1: error: settings must be an integer >= 1, got 0",
                   "rnnlab table1: error: unknown profile 'big'; valid choices: search, smoke"]
    assert not (tmp_path / "new").exists()
