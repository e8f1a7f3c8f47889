"""scripts/lstm_cell_state.py: the cell-state and gate-saturation statistics, against a hand count."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from rnnlab.nets.states import PieceStates
from tests.conftest import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "lstm_cell_state.py"
spec = importlib.util.spec_from_file_location("lstm_cell_state", SCRIPT)
lstm_cell_state = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lstm_cell_state)


def _piece(c, i, f, o):
    layer = "level0/step0"
    arrays = {k: np.asarray(v, dtype=float) for k, v in dict(i=i, f=f, o=o, g=np.zeros_like(i)).items()}
    return PieceStates(label="p", inputs=np.zeros((len(c), 2)), h={layer: np.zeros_like(np.asarray(c, float))},
                       c={layer: np.asarray(c, dtype=float)}, gates={layer: arrays})


def test_summary_pools_every_unit_and_step_of_every_piece():
    one = _piece(c=[[1.0, -3.0], [2.0, 4.0]], i=[[0.01, 0.5], [0.99, 0.5]], f=[[0.5, 0.5], [0.5, 0.5]],
                 o=[[0.96, 0.04], [0.5, 0.5]])
    two = _piece(c=[[-10.0, 0.0]], i=[[0.5, 0.5]], f=[[0.02, 0.98]], o=[[0.5, 0.5]])
    out = lstm_cell_state.cell_state_summary([one, two])
    assert out["abs_c_mean"] == pytest.approx((1 + 3 + 2 + 4 + 10 + 0) / 6)
    assert out["abs_c_p99"] == pytest.approx(np.percentile([1, 3, 2, 4, 10, 0], 99))
    assert (out["sat_i"], out["sat_f"], out["sat_o"]) == pytest.approx((2 / 6, 2 / 6, 2 / 6))
    assert "sat_g" not in out  # the candidate is not a gate


def test_a_cell_without_one_of_the_gates_reports_only_those_it_has():
    piece = _piece(c=[[0.5]], i=[[0.5]], f=[[0.5]], o=[[0.5]])
    del piece.gates["level0/step0"]["f"]
    assert set(lstm_cell_state.cell_state_summary([piece])) == {"abs_c_mean", "abs_c_p99", "sat_i", "sat_o"}
