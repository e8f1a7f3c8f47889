"""Every registered cell is covered, and every fact a cell class declares agrees with what the cell does.

(a) Coverage: ``REFERENCE_CHECKS`` names, for every cell in ``rnnlab.cells.CELLS``, the tests that compare it with
an independent reference (a literal transcription of its equation, or the ``torch.nn`` module it claims to be);
the dict must cover ``CELLS`` exactly and every named test must exist (and, when parametrized over cell names,
include that cell). The graph cell's own literal transcriptions (MGU, MinimalRNN: the library graphs that have no
hand-written twin) are written out below.

(b) Declared facts against behaviour: ``gate_names`` / ``candidate_names`` (what ``step`` records, which values
are [0,1] gates), ``has_forget_gate`` / ``default_forget_bias`` (what ``forget_bias`` does to the initial
weights), ``takes_option``, ``allows_width_change``, ``torch_equivalent``, ``block_names``, ``recurrent_blocks``.
"""

from __future__ import annotations

import random
import sys

import pytest
import torch

import tests.test_cells as test_cells
import tests.test_graph_cells as test_graph_cells
from rnnlab.cells import CELLS, make_cell
from rnnlab.cells.graph import LIBRARY, GraphCell, library_graph
from rnnlab.cells.graph.nodes import is_linear
from rnnlab.errors import RnnlabError
from rnnlab.nets import build_model, model_config

B, N_IN, H = 3, 5, 4
sig, tanh = torch.sigmoid, torch.tanh

# module, test function, and the cell name its parametrization must include (None: not parametrized over cells)
REFERENCE_CHECKS: dict[str, list[tuple[str, str, str | None]]] = {
    "tanh": [("test_cells", "test_torch_cells_equal_torch_nn_with_copied_weights", "tanh"),
             ("test_cells", "test_tanh_cell_with_sigmoid_equals_pascanu_eq4", None),
             ("test_cells", "test_relu_tanh_cell_is_relu_rnn_and_lstm_b_adds_one_to_the_forget_bias", None)],
    "lstm": [("test_cells", "test_cell_equals_its_paper_equation", "lstm"),
             ("test_cells", "test_torch_cells_equal_torch_nn_with_copied_weights", "lstm")],
    "lstm_b": [("test_cells", "test_cell_equals_its_paper_equation", "lstm_b"),
               ("test_cells", "test_relu_tanh_cell_is_relu_rnn_and_lstm_b_adds_one_to_the_forget_bias", None),
               ("test_cell_registry", "test_torch_equivalent_cells_equal_their_torch_module", None)],
    "lstm_peephole": [("test_cells", "test_cell_equals_its_paper_equation", "lstm_peephole")],
    "lstm_nof": [("test_cells", "test_cell_equals_its_paper_equation", "lstm_nof")],
    "lstm_noi": [("test_cells", "test_cell_equals_its_paper_equation", "lstm_noi")],
    "lstm_noo": [("test_cells", "test_cell_equals_its_paper_equation", "lstm_noo")],
    "gru": [("test_cells", "test_cell_equals_its_paper_equation", "gru")],
    "gru_v1": [("test_cells", "test_cell_equals_its_paper_equation", "gru_v1"),
               ("test_cells", "test_torch_cells_equal_torch_nn_with_copied_weights", "gru_v1")],
    "mut1": [("test_cells", "test_cell_equals_its_paper_equation", "mut1")],
    "mut2": [("test_cells", "test_cell_equals_its_paper_equation", "mut2")],
    "mut3": [("test_cells", "test_cell_equals_its_paper_equation", "mut3")],
    # the library graphs against the hand-written cells (themselves checked above), one Linear kind literally, and
    # the two library graphs without a hand-written twin transcribed literally in this file
    "graph": [("test_graph_cells", "test_library_graph_equals_hand_written_cell", "gru"),
              ("test_graph_cells", "test_shifted_linear_is_a_plus_w_v_plus_b", None),
              ("test_cell_registry", "test_graph_cell_equals_literal_mgu_and_minimalrnn", "mgu")],
}
MODULES = {"test_cells": test_cells, "test_graph_cells": test_graph_cells}


def _parametrized_values(function, argname: str) -> list:
    """The values a ``@pytest.mark.parametrize(argname, ...)`` of ``function`` runs it with ([] if none)."""
    values = []
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize" and mark.args[0] == argname:
            values += list(mark.args[1])
    return values


# ----------------------------------------------------------------------- (a) coverage
def test_every_cell_has_an_independent_reference_check():
    assert set(REFERENCE_CHECKS) == set(CELLS)
    modules = {**MODULES, "test_cell_registry": sys.modules[__name__]}
    for name, checks in REFERENCE_CHECKS.items():
        assert checks, f"cell {name!r} has no reference check"
        for module, function_name, param in checks:
            function = getattr(modules[module], function_name, None)
            assert callable(function), f"{module}.{function_name} (listed for {name!r}) does not exist"
            if param is not None:
                assert param in _parametrized_values(function, "name"), \
                    f"{module}.{function_name} does not run for {param!r} (listed for cell {name!r})"
    # the parametrizations read their cell lists from these dicts: each listed cell has its reference there
    for name in test_cells.REFERENCES:
        assert name in CELLS
    assert set(test_cells.TORCH) <= set(CELLS)


def _linear(cell: GraphCell, label: str, source: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(W, b) of the Linear map reading ``source`` under node ``label`` (via tests/test_graph_cells.linear_of)."""
    weight, bias, rows = cell.linear_slots[test_graph_cells.linear_of(cell, label, source)]
    w = getattr(cell, weight)
    return (None if w is None else w[rows]), getattr(cell, bias)[rows]


def _lin(wb, v):
    """W v + b; an absent weight or input (no external input) leaves the bias alone."""
    w, b = wb
    return b if w is None or v is None else v @ w.T + b


def mgu_literal(cell, x, h):
    """Minimal gated unit (Zhou et al. 2016): f = σ(W_f x + U_f h + b_f); ñ = tanh(W x + U (f ⊙ h) + b);
    h' = (1 − f) ⊙ h + f ⊙ ñ."""
    f = sig(_lin(_linear(cell, "f", "x"), x) + _lin(_linear(cell, "f", "h"), h))
    n = tanh(_lin(_linear(cell, "n", "x"), x) + _lin(_linear(cell, "n", "inner"), f * h))
    return (1 - f) * h + f * n


def minimalrnn_literal(cell, x, h):
    """MinimalRNN as the library writes it (Chen 2018, gate convention: u takes the input map):
    z = tanh(W_x x + b_x); u = σ(U_h h + U_z z + b); h' = (1 − u) ⊙ h + u ⊙ z."""
    z = tanh(_lin(_linear(cell, "z", "x"), x))
    u = sig(_lin(_linear(cell, "u", "h"), h) + _lin(_linear(cell, "u", "inner"), z))
    return (1 - u) * h + u * z


LITERAL_GRAPHS = {"mgu": mgu_literal, "minimalrnn": minimalrnn_literal}


@pytest.mark.parametrize("with_input", [True, False], ids=["input", "no-input"])
@pytest.mark.parametrize("name", list(LITERAL_GRAPHS))
def test_graph_cell_equals_literal_mgu_and_minimalrnn(name, with_input):
    torch.manual_seed(11)
    cell = GraphCell(N_IN if with_input else 0, H, equations=LIBRARY[name]).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.normal_(0, 0.7)
    h = torch.randn(B, H, dtype=torch.float64)
    for _ in range(3):
        x = torch.randn(1, B, N_IN, dtype=torch.float64) if with_input else None
        prepared = cell.prepare_input(cell.input_projection(x))
        (new,) = cell.step(prepared[0] if with_input else prepared, (h,))
        torch.testing.assert_close(new, LITERAL_GRAPHS[name](cell, None if x is None else x[0], h))
        h = new


# ----------------------------------------------------------------------- (b) declared facts against behaviour
def _graph_variants() -> list[GraphCell]:
    """The default graph cell, every library graph, and a few random mutants of them."""
    from rnnlab.search.mutate import mutate

    rng = random.Random(3)
    cells = [GraphCell(N_IN, H)] + [GraphCell(N_IN, H, equations=LIBRARY[name]) for name in LIBRARY]
    for k in range(6):
        child, _, _ = mutate(library_graph(("gru", "lstm", "mut1")[k % 3]), rng)
        cells.append(GraphCell(N_IN, H, equations=child))
    return cells


def _all_cells() -> list[tuple[str, object]]:
    cells = [(name, make_cell(name, N_IN, H)) for name in CELLS if name != "graph"]
    cells += [("tanh-relu", make_cell("tanh", N_IN, H, nonlinearity="relu"))]
    cells += [(f"graph:{cell.graph.canonical()}", cell) for cell in _graph_variants()]
    return cells


@pytest.mark.parametrize("name, cell", _all_cells(), ids=lambda v: v if isinstance(v, str) else "")
def test_step_records_exactly_the_declared_gates_and_candidates(name, cell):
    torch.manual_seed(7)
    with torch.no_grad():
        for p in cell.parameters():
            p.normal_(0, 2.0)  # wide pre-activations: a candidate mislabelled as a gate leaves [0, 1]
    x = torch.randn(1, B, N_IN)
    state = tuple(torch.randn(B, cell.prev_size) for _ in cell.state_names)
    gates: dict = {}
    cell.step(cell.prepare_input(cell.input_projection(x))[0], state, gates=gates)
    assert set(cell.candidate_names) <= set(cell.gate_names)
    assert len(set(cell.gate_names)) == len(cell.gate_names)
    assert set(gates) == set(cell.gate_names) | set(cell.candidate_names)
    for key, value in gates.items():
        if key not in cell.candidate_names:
            assert value.min() >= 0 and value.max() <= 1, f"{name}: recorded gate {key!r} leaves [0, 1]"
    if isinstance(cell, GraphCell):  # graph: the gates are exactly the sigmoid nodes
        sigmoid = {cell.node_names[i] for i, n in enumerate(cell.graph.nodes) if n.op == "sigmoid"}
        assert set(cell.gate_names) - set(cell.candidate_names) == sigmoid
    else:  # hand-written: every candidate is a tanh candidate, which does go negative
        for key in cell.candidate_names:
            assert gates[key].min() < 0 and gates[key].abs().max() <= 1, f"{name}: {key!r} is not a tanh candidate"


@pytest.mark.parametrize("name", list(CELLS))
def test_has_forget_gate_iff_forget_bias_shifts_the_initial_forget_bias(name):
    cls = CELLS[name]
    assert cls.takes_option("forget_bias") == cls.has_forget_gate
    if not cls.has_forget_gate:
        assert cls.default_forget_bias is None
        with pytest.raises(RnnlabError, match=f"cell {name!r} has no option 'forget_bias'"):
            make_cell(name, N_IN, H, forget_bias=1.0)
        with pytest.raises(RnnlabError, match=f"forget_bias=1.0 does not apply to cell {name!r}"):
            model_config(cell=name, n_in=N_IN, n_out=N_IN, hidden=H, forget_bias=1.0)
        assert model_config(cell=name, n_in=N_IN, n_out=N_IN, hidden=H)["forget_bias"] is None
        return
    assert isinstance(cls.default_forget_bias, float)
    assert model_config(cell=name, n_in=N_IN, n_out=N_IN, hidden=H)["forget_bias"] == cls.default_forget_bias
    built = {}
    for bias in (None, cls.default_forget_bias, cls.default_forget_bias + 2.5):
        torch.manual_seed(5)
        built[bias] = dict(make_cell(name, N_IN, H, forget_bias=bias).named_parameters())
    default, same, shifted = built.values()
    for key in default:
        torch.testing.assert_close(same[key], default[key], rtol=0, atol=0)
    changed = [key for key in default if not torch.equal(shifted[key], default[key])]
    assert len(changed) == 1, f"forget_bias changed {changed}"
    diff = (shifted[changed[0]] - default[changed[0]]).detach()
    cell = make_cell(name, N_IN, H)
    f = cell.block_names.index("f")
    expected = torch.zeros_like(diff)
    expected[f * H:(f + 1) * H] = 2.5
    torch.testing.assert_close(diff, expected)  # exactly the f block of one bias vector, by exactly 2.5


@pytest.mark.parametrize("name", list(CELLS))
def test_options_and_width_change_are_what_the_constructor_and_model_config_accept(name):
    cls = CELLS[name]
    for option in ("nonlinearity", "pool_size", "lp_p", "forget_bias", "equations"):
        assert cls.takes_option(option) == (option in cls.options)
    if cls.allows_width_change():
        assert make_cell(name, 0, H, prev_size=H + 2).prev_size == H + 2
        model_config(arch="dt-rnn", cell=name, n_in=N_IN, n_out=N_IN, hidden=H, transition_hidden=H + 2)
    else:
        with pytest.raises(RnnlabError, match="intermediate width must equal hidden"):
            make_cell(name, 0, H, prev_size=H + 2)
        with pytest.raises(RnnlabError, match=f"must equal hidden={H} for cell {name!r}"):
            model_config(arch="dt-rnn", cell=name, n_in=N_IN, n_out=N_IN, hidden=H, transition_hidden=H + 2)
    # nonlinearity reaches the cell iff the class takes it
    model = build_model(cell=name, n_in=N_IN, n_out=N_IN, hidden=H, input_depth=1, nonlinearity="sigmoid")
    cell = model.levels[0].cells[0]
    assert (getattr(cell, "nonlinearity", None) == "sigmoid") == cls.takes_option("nonlinearity")
    if cls.takes_option("equations"):
        assert model_config(cell=name, n_in=N_IN, n_out=N_IN, hidden=H)["equations"] == cls.default_equations
    else:
        with pytest.raises(RnnlabError, match=f"equations='h' does not apply to cell {name!r}"):
            model_config(cell=name, n_in=N_IN, n_out=N_IN, hidden=H, equations="h")


TORCH_KINDS = {"rnn_tanh": torch.nn.RNN, "rnn_relu": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def test_torch_equivalent_cells_equal_their_torch_module():
    """Parity with fused and loop paths, gradients included, is tests/test_cells.py
    test_torch_cells_equal_torch_nn_with_copied_weights (tanh, lstm, gru_v1) and test_relu_tanh_cell_is_relu_rnn...;
    here every cell (and φ) that claims a ``torch_equivalent`` is run against that module with its own weights."""
    torch.manual_seed(9)
    variants = [(name, {}) for name in CELLS] + [("tanh", {"nonlinearity": phi}) for phi in ("relu", "sigmoid")]
    claimed = []
    for name, options in variants:
        cell = make_cell(name, N_IN, H, **options)
        kind = cell.torch_equivalent
        if kind is None:
            continue
        claimed.append(name)
        assert cell.is_torch_module() and not make_cell(name, 0, H, **options).is_torch_module()
        module = TORCH_KINDS[kind](N_IN, H, **({"nonlinearity": kind[4:]} if kind.startswith("rnn_") else {}))
        module.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
        x = torch.randn(4, B, N_IN)
        state = tuple(torch.randn(B, H) for _ in cell.state_names)
        ours = []
        s = state
        for x_t in cell.prepare_input(cell.input_projection(x)).unbind(0):
            s = cell.step(x_t, s)
            ours.append(s[0])
        theirs, _ = module(x, tuple(t[None] for t in state) if len(state) > 1 else state[0][None])
        torch.testing.assert_close(torch.stack(ours), theirs, rtol=1e-5, atol=1e-6)
    assert set(test_cells.TORCH) <= set(claimed)
    assert make_cell("tanh", N_IN, H, nonlinearity="sigmoid").torch_equivalent is None


@pytest.mark.parametrize("name, cell", _all_cells(), ids=lambda v: v if isinstance(v, str) else "")
def test_block_names_and_recurrent_blocks_match_the_parameters(name, cell):
    assert len(cell.block_names) == cell.n_blocks
    assert cell.input_projection(torch.randn(1, B, N_IN)).shape[-1] == cell.projection_size
    params = dict(cell.named_parameters(recurse=False))
    assert cell.recurrent_blocks, f"{name}: no recurrent matrix declared"
    for key, labels in cell.recurrent_blocks.items():
        assert params[key].dim() == 2 and params[key].shape[1] == cell.prev_size
        assert params[key].shape[0] % len(labels) == 0
    if isinstance(cell, GraphCell):  # every Linear map of h or c (or of a state-dependent inner node) is declared
        declared = {label for labels in cell.recurrent_blocks.values() for label in labels}
        x_only = cell._x_only
        reads_state = {cell.node_names[i] for i, n in enumerate(cell.graph.nodes) if is_linear(n.op) and not x_only[i]}
        assert declared == reads_state
