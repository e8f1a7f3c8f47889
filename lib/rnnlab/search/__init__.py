"""The architecture search of Jozefowicz et al. 2015 over cells written as graphs (``rnnlab.cells.graph``).

- ``mutate.py``: the six graph transforms and the child proposal (1–3 transforms, validity, size bound);
- ``evaluate.py``: random hyperparameters, the small training loop, the scaled tasks (runs in workers);
- ``loop.py``: the resumable, seeded search (top list, filters, fitness) with its JSON state;
- ``compare.py``: the best cells found against GRU, LSTM-b and MUT1 on the same settings;
- ``table1.py``: Jozefowicz et al.'s Table 1 at this scale, the ten cells on the same settings (``rnnlab table1``);
- ``cli.py``: ``rnnlab search``.

See docs/search.md for the procedure, the scaling to this machine and the choices made where the paper is silent.
"""

from rnnlab.search.loop import SearchConfig, SearchState, run_search
from rnnlab.search.mutate import MUTATIONS, mutate

__all__ = ["MUTATIONS", "SearchConfig", "SearchState", "mutate", "run_search"]
