"""`rnnlab archs`: every cell × preset with its counts; bad input exits 2 with one line."""

from __future__ import annotations

import json

from rnnlab.cells import CELLS
from rnnlab.cli import main
from rnnlab.nets import ARCHS


def test_archs_lists_every_cell_and_preset(capsys):
    assert main(["archs", "--n-in", "88", "--n-out", "88", "--hidden", "400", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["cell"], r["arch"]) for r in rows} == {(c, a) for c in CELLS for a in ARCHS}
    by_key = {(r["cell"], r["arch"]): r for r in rows}
    assert by_key["tanh", "dts-rnn"]["weights"] == 585_600  # Pascanu Table 1, DT(S) 400,400
    assert by_key["tanh", "srnn"]["weights"] == 550_400
    assert by_key["lstm", "rnn"]["fused"] and not by_key["lstm_peephole", "rnn"]["fused"]


def test_archs_table_and_bad_input(capsys):
    assert main(["archs", "--cell", "gru", "--arch", "rnn", "--hidden", "46", "--n-in", "100"]) == 0
    out = capsys.readouterr().out
    assert "gru            rnn" in out and "24,196" in out  # 3·46·100 + 3·46·46 + 46·88 weights
    assert main(["archs", "--cell", "lstm9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnlab archs: error: unknown cell 'lstm9'; valid choices: tanh") and "\n" not in err
