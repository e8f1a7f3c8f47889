"""scripts/jozefowicz_table1.py: one row per cell, task and setting, recorded as it finishes; a larger --settings
trains only the missing rows and keeps the others; a row whose hyperparameters are not setting k's is retrained."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd

from tests.conftest import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "jozefowicz_table1.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def table1(out, settings):
    result = subprocess.run([sys.executable, str(SCRIPT), "--settings", str(settings), "--profile", "smoke",
                             "--engine", "inline", "--out", str(out)], capture_output=True, text=True, env=ENV,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


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
