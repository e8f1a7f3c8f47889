"""rnnlab.campaigns.cell_state (``rnnlab cell-state``): the cell-state and gate-saturation statistics, against a hand
count, and on a trained run."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.campaigns.cell_state import cell_state_summary, cell_state_table
from rnnlab.cli import main as cli_main
from rnnlab.errors import RnnlabError
from rnnlab.nets.states import PieceStates
from rnnlab.train import TrainConfig
from rnnlab.train.trainer import Trainer


def _piece(c, i, f, o):
    layer = "level0/step0"
    arrays = {k: np.asarray(v, dtype=float) for k, v in dict(i=i, f=f, o=o, g=np.zeros_like(i)).items()}
    return PieceStates(label="p", inputs=np.zeros((len(c), 2)), h={layer: np.zeros_like(np.asarray(c, float))},
                       c={layer: np.asarray(c, dtype=float)}, gates={layer: arrays})


def test_summary_pools_every_unit_and_step_of_every_piece():
    one = _piece(c=[[1.0, -3.0], [2.0, 4.0]], i=[[0.01, 0.5], [0.99, 0.5]], f=[[0.5, 0.5], [0.5, 0.5]],
                 o=[[0.96, 0.04], [0.5, 0.5]])
    two = _piece(c=[[-10.0, 0.0]], i=[[0.5, 0.5]], f=[[0.02, 0.98]], o=[[0.5, 0.5]])
    out = cell_state_summary([one, two])
    assert out["abs_c_mean"] == pytest.approx((1 + 3 + 2 + 4 + 10 + 0) / 6)
    assert out["abs_c_p99"] == pytest.approx(np.percentile([1, 3, 2, 4, 10, 0], 99))
    assert (out["sat_i"], out["sat_f"], out["sat_o"]) == pytest.approx((2 / 6, 2 / 6, 2 / 6))
    assert "sat_g" not in out  # the candidate is not a gate


def test_a_cell_without_one_of_the_gates_reports_only_those_it_has():
    piece = _piece(c=[[0.5]], i=[[0.5]], f=[[0.5]], o=[[0.5]])
    del piece.gates["level0/step0"]["f"]
    assert set(cell_state_summary([piece])) == {"abs_c_mean", "abs_c_p99", "sat_i", "sat_o"}


@pytest.mark.canonical
def test_a_trained_lstm_gives_one_row_named_as_given_and_a_tanh_run_is_refused(canonical_data, tmp_path, capsys):
    tiny = dict(dataset="jsb", hidden=6, epochs=1, batch_size=4, bptt=20, max_updates_per_epoch=2,
                max_eval_sequences=2, device="cpu", task_knobs={"max_sequences": 4})
    for name, cell in (("lstm", "lstm_peephole"), ("tanh", "tanh")):
        Trainer(TrainConfig(cell=cell, **tiny), run_dir=tmp_path / "store" / "jsb" / name, progress=False).fit()
    table = cell_state_table(["jsb/lstm/"], pieces=2, store=tmp_path / "store")
    assert table.run.tolist() == ["jsb/lstm"] and table.cell.tolist() == ["lstm_peephole"]
    assert {"abs_c_mean", "abs_c_p99", "sat_i", "sat_f", "sat_o"} <= set(table.columns)
    assert 0 < table.abs_c_mean[0] <= table.abs_c_p99[0]
    with pytest.raises(RnnlabError, match="jsb/tanh: cell 'tanh' keeps no cell state"):
        cell_state_table(["jsb/tanh"], pieces=1, store=tmp_path / "store")
    assert cli_main(["cell-state", "--store", str(tmp_path / "store"), "jsb/lstm", "--pieces", "2",
                     "--csv", str(tmp_path / "cs.csv")]) == 0
    assert (tmp_path / "cs.csv").read_text().startswith("run,dataset,cell,lr,forget_bias,median_piece_steps,")
    assert cli_main(["cell-state", "jsb/none", "--store", str(tmp_path / "store")]) == 2
    assert "does not exist" in capsys.readouterr().err
