"""The built-in cells written as equations (each equals its hand-written cell given the same weights; see
tests/test_graph_cells.py), plus two small cells from the literature to start from.

The convex mix (1 − z) ⊙ h + z ⊙ n is written h + z * (n − h) (no constants in a graph), which is also how the
hand-written GRU/MUT cells compute it. LSTM-b is the LSTM whose forget-gate Linear map starts with bias +1.
The LSTM ablations of Jozefowicz et al. 2015 (§3; ``cells/lstm_ablations.py``) hold the removed gate at 1, so the
gate and its Linear maps are simply absent: LSTM-f c' = c + i ⊙ g, LSTM-i c' = f ⊙ c + g, LSTM-o h' = tanh(c').
"""

from __future__ import annotations

from rnnlab.cells.graph.parse import parse_equations
from rnnlab.errors import check_choice

LIBRARY: dict[str, str] = {
    "tanh": "h' = tanh(lin(x) + lin(h))",
    "lstm": """
i = sigmoid(lin(x) + lin(h))
f = sigmoid(lin(x) + lin(h))
g = tanh(lin(x) + lin(h))
o = sigmoid(lin(x) + lin(h))
c' = f * c + i * g
h' = o * tanh(c')
""",
    "lstm_b": """
i = sigmoid(lin(x) + lin(h))
f = sigmoid(lin(x) + lin(h, bias=1))
g = tanh(lin(x) + lin(h))
o = sigmoid(lin(x) + lin(h))
c' = f * c + i * g
h' = o * tanh(c')
""",
    # the LSTM with one gate removed (held at 1), Jozefowicz et al. 2015 §3: LSTM-f, LSTM-i, LSTM-o
    "lstm_nof": """
i = sigmoid(lin(x) + lin(h))
g = tanh(lin(x) + lin(h))
o = sigmoid(lin(x) + lin(h))
c' = c + i * g
h' = o * tanh(c')
""",
    "lstm_noi": """
f = sigmoid(lin(x) + lin(h))
g = tanh(lin(x) + lin(h))
o = sigmoid(lin(x) + lin(h))
c' = f * c + g
h' = o * tanh(c')
""",
    "lstm_noo": """
i = sigmoid(lin(x) + lin(h))
f = sigmoid(lin(x) + lin(h))
g = tanh(lin(x) + lin(h))
c' = f * c + i * g
h' = tanh(c')
""",
    "gru": """
z = sigmoid(lin(x) + lin(h))
r = sigmoid(lin(x) + lin(h))
n = tanh(lin(x) + lin(r * h))
h' = h + z * (n - h)
""",
    "mut1": """
z = sigmoid(lin(x))
r = sigmoid(lin(x) + lin(h))
n = tanh(lin(r * h) + tanh(x))
h' = h + z * (n - h)
""",
    "mut2": """
z = sigmoid(lin(x) + lin(h))
r = sigmoid(x + lin(h))
n = tanh(lin(r * h) + lin(x))
h' = h + z * (n - h)
""",
    "mut3": """
z = sigmoid(lin(x) + lin(tanh(h)))
r = sigmoid(lin(x) + lin(h))
n = tanh(lin(x) + lin(r * h))
h' = h + z * (n - h)
""",
    # Minimal gated unit (Zhou et al. 2016): one gate f serves as both update and reset gate
    "mgu": """
f = sigmoid(lin(x) + lin(h))
n = tanh(lin(x) + lin(f * h))
h' = h + f * (n - h)
""",
    # MinimalRNN (Chen 2018): the input mapped once, a gate mixes it with the old state
    "minimalrnn": """
z = tanh(lin(x))
u = sigmoid(lin(h) + lin(z))
h' = h + u * (z - h)
""",
}


def library_graph(name: str):
    """The normalized graph of library cell ``name``."""
    check_choice("library cell", name, LIBRARY)
    return parse_equations(LIBRARY[name])


_CANONICAL: dict[str, tuple[str, tuple]] = {}


def library_twin(graph) -> str | None:
    """The library cell ``graph`` (normalized) is, by canonical form, or None. LSTM-b is not the LSTM (its bias
    offset is part of the graph); a rare tie in the canonical order that numbers equal graphs' nodes differently
    counts as no twin."""
    if not _CANONICAL:
        for name in LIBRARY:
            reference = library_graph(name)
            _CANONICAL[name] = (reference.canonical(), tuple(reference.nodes))
    text = graph.canonical()
    for name, (canonical, nodes) in _CANONICAL.items():
        if text == canonical:
            return name if tuple(graph.nodes) == nodes else None
    return None
