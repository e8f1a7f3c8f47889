"""Recurrent cells: one time step each, with its equation and paper in the docstring.

``CELLS`` maps the names used everywhere (API, CLI, notebooks) to the cell classes; ``make_cell`` builds one.

| name           | cell                                                       | source                      |
|----------------|------------------------------------------------------------|-----------------------------|
| tanh           | h = φ(W x + U h + b), φ tanh/sigmoid/relu/lp/maxout         | Elman; Pascanu Eq. 4        |
| lstm           | LSTM, no peepholes (= torch.nn.LSTM)                       | Jozefowicz 2015 baseline    |
| lstm_b         | lstm with forget-gate bias +1                              | Jozefowicz 2015             |
| lstm_peephole  | LSTM with diagonal peepholes, o reads c_t                  | Chung 2014 Eq. 4 / Graves   |
| lstm_nof/noi/noo | lstm with f / i / o held at 1                            | Jozefowicz 2015             |
| gru            | GRU, reset before U, z = 1 takes the candidate             | Chung 2014 Eq. 5            |
| gru_v1         | GRU, reset after U (= torch.nn.GRU / cuDNN)                | Cho 2014; Chung footnote 1  |
| mut1/2/3       | the three mutants found by the search                      | Jozefowicz 2015             |
| graph          | any cell written as equations (``equations=``; default GRU) | Jozefowicz 2015 search space |
"""

from __future__ import annotations

from rnnlab.cells.base import RecurrentCell, project
from rnnlab.cells.graph import GraphCell
from rnnlab.cells.gru import GRUCell
from rnnlab.cells.gru_v1 import GRUv1Cell
from rnnlab.cells.lstm import LSTMbCell, LSTMCell
from rnnlab.cells.lstm_ablations import LSTMNoForgetCell, LSTMNoInputCell, LSTMNoOutputCell
from rnnlab.cells.lstm_peephole import PeepholeLSTMCell
from rnnlab.cells.mut import MUT1Cell, MUT2Cell, MUT3Cell
from rnnlab.cells.nonlinearities import NONLINEARITIES, make_nonlinearity
from rnnlab.cells.tanh import TanhCell
from rnnlab.errors import RnnlabError, check_choice

CELLS: dict[str, type[RecurrentCell]] = {
    "tanh": TanhCell,
    "lstm": LSTMCell,
    "lstm_b": LSTMbCell,
    "lstm_peephole": PeepholeLSTMCell,
    "lstm_nof": LSTMNoForgetCell,
    "lstm_noi": LSTMNoInputCell,
    "lstm_noo": LSTMNoOutputCell,
    "gru": GRUCell,
    "gru_v1": GRUv1Cell,
    "mut1": MUT1Cell,
    "mut2": MUT2Cell,
    "mut3": MUT3Cell,
    "graph": GraphCell,
}


def make_cell(name: str, input_size: int, hidden_size: int, *, prev_size: int | None = None, **options):
    """Build cell ``name`` reading ``input_size`` inputs (0 = none) into ``hidden_size`` units.

    ``options`` are the cell's own knobs (``CELLS[name].options``, ``takes_option``): ``nonlinearity``,
    ``pool_size``, ``lp_p`` for tanh; ``forget_bias`` for the cells with ``has_forget_gate``; ``equations`` for
    ``graph``. Ask the class for every other fact too (``gate_names``, ``candidate_names``, ``default_forget_bias``,
    ``allows_width_change()``, ``torch_equivalent``, ``block_names``, ``recurrent_blocks``: see ``base.py``).
    """
    check_choice("cell", name, CELLS)
    cls = CELLS[name]
    unknown = sorted(set(options) - set(cls.options))
    if unknown:
        valid = ", ".join(cls.options) or "none"
        raise RnnlabError(f"cell {name!r} has no option {unknown[0]!r}; its options: {valid}")
    return cls(input_size, hidden_size, prev_size, **options)


__all__ = ["CELLS", "NONLINEARITIES", "RecurrentCell", "make_cell", "make_nonlinearity", "project"]
