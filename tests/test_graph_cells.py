"""Cells written as equations: parsing and canonical form, and every library graph against the hand-written cell
with copied weights (outputs, states, all gradients; fp64), in every architecture; gradcheck of unusual graphs."""

from __future__ import annotations

import pytest
import torch

from rnnlab.cells import make_cell
from rnnlab.cells.graph import LIBRARY, GraphCell, parse_equations, validity_problem
from rnnlab.cells.graph.nodes import LEAVES, is_linear
from rnnlab.errors import RnnlabError
from rnnlab.nets import ARCHS, build_model

T, B, N_IN, H = 5, 3, 4, 3


# ----------------------------------------------------------------------- text ⇄ graph
@pytest.mark.parametrize("name", list(LIBRARY))
def test_library_round_trips_through_text(name):
    graph = parse_equations(LIBRARY[name])
    assert parse_equations(graph.canonical()).canonical() == graph.canonical()
    assert parse_equations(graph.text()).canonical() == graph.canonical()
    assert parse_equations(graph.text()).text() == graph.text()


def test_identical_graphs_compare_equal_and_different_ones_do_not():
    a = parse_equations("h' = tanh(lin(x) + lin(h))")
    b = parse_equations("pre = lin(h) + Linear(0, x)\nh' = tanh(pre)  # names and operand order do not matter")
    assert a == b and a.canonical() == b.canonical() == "h' = tanh(lin(h) + lin(x))"
    # a shared Linear node (one weight) differs from two Linear nodes (two weights)
    shared = parse_equations("u = lin(h); h' = tanh(u * u + lin(x))")
    split = parse_equations("h' = tanh(lin(h) * lin(h) + lin(x))")
    assert shared != split
    assert shared.canonical() == "t1 = lin(h)\nh' = tanh(t1 * t1 + lin(x))"
    # parameter-free duplicates are the same node
    assert parse_equations("h' = tanh(h) * tanh(h) + lin(x)") == parse_equations("t = tanh(h); h' = t * t + lin(x)")
    # - is not commutative; precedence and parentheses survive printing
    minus = parse_equations("h' = lin(x) - (lin(h) - h)")
    assert minus.canonical() == "h' = lin(x) - (lin(h) - h)"
    assert minus != parse_equations("h' = lin(x) - lin(h) - h")
    assert parse_equations("h' = lin[0.9](x) * σ(lin[1.1](h)) ⊙ relu(h)").canonical() == \
        "h' = lin[0.9](x) * sigmoid(lin[1.1](h)) * relu(h)"


@pytest.mark.parametrize("text, message", [
    ("", "non-empty"),
    ("z = sigmoid(lin(x))", "must define h'"),
    ("h' = tanh(lin(x) + lin(h)) + 1", "constants are not nodes"),
    ("h' = tanh(lin(x) + q)", "unknown name 'q'"),
    ("h' = tanh(lin(x) + lin(h)", "expected ')'"),
    ("h' = foo(x)", "unknown name 'foo'"),
    ("u = lin(h)\nh' = tanh(lin(x) + lin(h))", "'u' is defined but never used"),
    ("h' = lin[2](x) + h", "diagonal shift must be one of 0, 1, 0.9, 1.1; got '2'"),
    ("h = lin(x)", "is an input"),
    ("q' = lin(x)\nh' = q'", "unknown output"),
    ("h' = tanh(lin(x) + lin(c))", "never define c'"),
])
def test_bad_equations_raise_one_line_naming_the_problem(text, message):
    with pytest.raises(RnnlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_equations(text)


@pytest.mark.parametrize("text, problem", [
    ("h' = tanh(lin(h))", "does not depend on the input x"),
    ("h' = tanh(lin(x))", "does not depend on the old state"),
    ("c' = c * sigmoid(lin(h))\nh' = tanh(lin(x) + lin(h))", "c is dead"),
])
def test_validity(text, problem):
    assert problem in validity_problem(parse_equations(text))
    with pytest.raises(RnnlabError, match=problem):
        GraphCell(N_IN, H, equations=text)


# ----------------------------------------------------------------------- parity with the hand-written cells
# (graph node label, what its Linear map reads: x | h | inner, hand param, block, n blocks, hand bias block or
#  None = the hand cell has no bias there: the graph's bias is set 0 and its gradient equals `twin`'s)
LSTM_SPEC = [(g, src, f"weight_{'ih' if src == 'x' else 'hh'}", k, 4, (f"bias_{'ih' if src == 'x' else 'hh'}", k, 4))
             for k, g in enumerate("ifgo") for src in ("x", "h")]
# the LSTM ablations: blocks (the three kept gates, in i, f, g, o order) of weight_ih and weight_hh, one bias per block
ABLATIONS = {"lstm_nof": "igo", "lstm_noi": "fgo", "lstm_noo": "ifg"}
SPECS = {
    "tanh": [("h'", "x", "weight_ih", 0, 1, ("bias_ih", 0, 1)), ("h'", "h", "weight_hh", 0, 1, ("bias_hh", 0, 1))],
    "lstm": LSTM_SPEC,
    "lstm_b": LSTM_SPEC,
    **{name: [(g, src, f"weight_{'ih' if src == 'x' else 'hh'}", k, 3, ("bias", k, 3) if src == "x" else None)
              for k, g in enumerate(blocks) for src in ("x", "h")] for name, blocks in ABLATIONS.items()},
    "gru": [("z", "x", "weight_ih", 0, 3, ("bias", 0, 3)), ("z", "h", "weight_hh_zr", 0, 2, None),
            ("r", "x", "weight_ih", 1, 3, ("bias", 1, 3)), ("r", "h", "weight_hh_zr", 1, 2, None),
            ("n", "x", "weight_ih", 2, 3, ("bias", 2, 3)), ("n", "inner", "weight_hh", 0, 1, None)],
    "mut1": [("z", "x", "weight_ih", 0, 2, ("bias", 0, 3)), ("r", "x", "weight_ih", 1, 2, ("bias", 1, 3)),
             ("r", "h", "weight_hh_r", 0, 1, None), ("n", "inner", "weight_hh", 0, 1, ("bias", 2, 3))],
    "mut2": [("z", "x", "weight_ih", 0, 2, ("bias", 0, 3)), ("z", "h", "weight_hh_zr", 0, 2, None),
             ("r", "h", "weight_hh_zr", 1, 2, ("bias", 1, 3)),
             ("n", "x", "weight_ih", 1, 2, ("bias", 2, 3)), ("n", "inner", "weight_hh", 0, 1, None)],
    "mut3": [("z", "x", "weight_ih", 0, 3, ("bias", 0, 3)), ("z", "inner", "weight_hh_z", 0, 1, None),
             ("r", "x", "weight_ih", 1, 3, ("bias", 1, 3)), ("r", "h", "weight_hh_r", 0, 1, None),
             ("n", "x", "weight_ih", 2, 3, ("bias", 2, 3)), ("n", "inner", "weight_hh", 0, 1, None)],
}
TWIN = {("gru", "z", "h"): ("bias", 0, 3), ("gru", "r", "h"): ("bias", 1, 3), ("gru", "n", "inner"): ("bias", 2, 3),
        ("mut1", "r", "h"): ("bias", 1, 3), ("mut2", "z", "h"): ("bias", 0, 3),
        ("mut2", "n", "inner"): ("bias", 2, 3), ("mut3", "z", "inner"): ("bias", 0, 3),
        ("mut3", "r", "h"): ("bias", 1, 3), ("mut3", "n", "inner"): ("bias", 2, 3),
        **{(name, g, "h"): ("bias", k, 3) for name, blocks in ABLATIONS.items() for k, g in enumerate(blocks)}}


def node_of(cell: GraphCell, label: str) -> int:
    graph = cell.graph
    if label == "h'":
        return graph.outputs[0]
    return next(i for i, name in graph.labels.items() if name == label)


def linear_of(cell: GraphCell, label: str, source: str) -> int:
    """The Linear node feeding node ``label``'s pre-activation that reads ``source`` (x, h or an inner node)."""
    graph = cell.graph
    pre = graph.nodes[node_of(cell, label)].args[0]
    for j in (pre, *graph.nodes[pre].args):
        node = graph.nodes[j]
        if is_linear(node.op):
            arg = graph.nodes[node.args[0]].op
            if (arg if arg in LEAVES else "inner") == source:
                return j
    raise AssertionError(f"no Linear map of {source} under {label}")


def block(tensor, k, n):
    return None if tensor is None else tensor.chunk(n, 0)[k]


def pairs(name, graph_cell, hand):
    """(graph tensor getter, hand tensor getter, copy?) for every parameter piece; getters take `grad`."""
    out = []
    for label, source, weight, k, n, bias in SPECS[name]:
        w_name, b_name, rows = graph_cell.linear_slots[linear_of(graph_cell, label, source)]
        twin = bias or TWIN[(name, label, source)]

        def g_w(grad, w_name=w_name, rows=rows):
            p = getattr(graph_cell, w_name)
            return None if p is None else (p.grad if grad else p)[rows]

        def h_w(grad, weight=weight, k=k, n=n):
            p = getattr(hand, weight)
            return None if p is None else block(p.grad if grad else p, k, n)

        def g_b(grad, b_name=b_name, rows=rows):
            p = getattr(graph_cell, b_name)
            return (p.grad if grad else p)[rows]

        def h_b(grad, twin=twin):
            p = getattr(hand, twin[0])
            return block(p.grad if grad else p, twin[1], twin[2])

        out += [(g_w, h_w, True), (g_b, h_b, bias is not None)]
    if hand.input_weight_names == ("weight_embed",):
        out.append((lambda grad: None if graph_cell.weight_embed is None else
                    (graph_cell.weight_embed.grad if grad else graph_cell.weight_embed),
                    lambda grad: None if hand.weight_embed is None else
                    (hand.weight_embed.grad if grad else hand.weight_embed), True))
    return out


@torch.no_grad()
def copy_weights(name, graph_cell, hand):
    """Give ``graph_cell`` the weights of ``hand`` (extra graph biases 0); checks every graph parameter is set."""
    for p in graph_cell.parameters():
        p.fill_(float("nan"))
    for g, h, copy in pairs(name, graph_cell, hand):
        target, source = g(False), h(False)
        if target is None:
            assert source is None
            continue
        target.copy_(source if copy else torch.zeros_like(target))
    assert not any(p.isnan().any() for p in graph_cell.parameters())


def run(cell, x, state):
    prepared = cell.prepare_input(cell.input_projection(x))
    steps = prepared.unbind(0) if x is not None else [prepared] * T
    outs = []
    for x_prep in steps:
        state = cell.step(x_prep, state)
        outs.append(state[0])
    return torch.stack(outs), state


@pytest.mark.parametrize("with_input", [True, False], ids=["input", "no-input"])
@pytest.mark.parametrize("name", list(SPECS))
def test_library_graph_equals_hand_written_cell(name, with_input):
    torch.manual_seed(1)
    n_in = N_IN if with_input else 0
    hand = make_cell(name, n_in, H).double()
    graph_cell = GraphCell(n_in, H, equations=LIBRARY[name]).double()
    copy_weights(name, graph_cell, hand)
    x = torch.randn(T, B, N_IN, dtype=torch.float64) if with_input else None
    state = tuple(torch.randn(B, H, dtype=torch.float64) for _ in hand.state_names)
    assert graph_cell.state_names == hand.state_names
    out_g, final_g = run(graph_cell, x, state)
    out_h, final_h = run(hand, x, state)
    torch.testing.assert_close(out_g, out_h, rtol=1e-12, atol=1e-12)
    for a, b in zip(final_g, final_h, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    probe = torch.randn_like(out_g)
    ((out_g * probe).sum() + final_g[-1].sum()).backward()
    ((out_h * probe).sum() + final_h[-1].sum()).backward()
    checked = 0
    for g, h, _ in pairs(name, graph_cell, hand):
        if g(True) is not None:
            torch.testing.assert_close(g(True), h(True), rtol=1e-10, atol=1e-12)
            checked += 1
    assert checked >= len(SPECS[name])


def test_lstm_b_graph_starts_with_forget_bias_one():
    torch.manual_seed(2)
    cell = GraphCell(N_IN, 16, equations=LIBRARY["lstm_b"])
    w, b, rows = cell.linear_slots[linear_of(cell, "f", "h")]
    assert getattr(cell, b)[rows].mean().item() == pytest.approx(1.0, abs=0.2)
    for gate in "igo":
        w, b, rows = cell.linear_slots[linear_of(cell, gate, "h")]
        assert getattr(cell, b)[rows].mean().item() == pytest.approx(0.0, abs=0.2)


# ----------------------------------------------------------------------- every architecture
def copy_model(name, graph_model, hand_model):
    """Copy a hand-written model into the graph model: cells through the spec, everything else by name."""
    hand_params = dict(hand_model.named_parameters())
    for level_g, level_h in zip(graph_model.levels, hand_model.levels, strict=True):
        for cell_g, cell_h in zip(level_g.cells, level_h.cells, strict=True):
            copy_weights(name, cell_g, cell_h)
        if level_h.shortcut_weight is not None:
            # the shortcut's row blocks follow the projection blocks: for gru, lstm and mut1 the hand-written
            # projection block j is weight_ih's block j, then (mut1) the embedding e last, as in the graph cell
            top_g = level_g.cells[-1]
            with torch.no_grad():
                for k, i in enumerate(top_g._lin_x):
                    j = next(s[3] for s in SPECS[name] if s[1] == "x" and linear_of(top_g, s[0], "x") == i)
                    level_g.shortcut_weight[k * H:(k + 1) * H] = level_h.shortcut_weight[j * H:(j + 1) * H]
                if top_g.embed:
                    level_g.shortcut_weight[-H:] = level_h.shortcut_weight[-H:]
    with torch.no_grad():
        for key, p in graph_model.named_parameters():
            if ".cells." not in key and "shortcut" not in key:
                p.copy_(hand_params[key])


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("name", ["gru", "lstm", "mut1"])
def test_graph_cell_equals_hand_written_in_every_arch(name, arch):
    torch.manual_seed(3)
    kw = dict(arch=arch, n_in=N_IN, n_out=N_IN, hidden=H, fused="never")
    hand = build_model(cell=name, **kw).double()
    graph_model = build_model(cell="graph", equations=LIBRARY[name], **kw).double()
    assert graph_model.config["equations"] == LIBRARY[name].strip()
    copy_model(name, graph_model, hand)
    x = torch.randn(T, B, N_IN, dtype=torch.float64)
    logits_g, state_g, rec = graph_model(x, record=True)
    logits_h, state_h = hand(x)
    torch.testing.assert_close(logits_g, logits_h, rtol=1e-10, atol=1e-12)
    logits_g.sum().backward()
    logits_h.sum().backward()
    hand_params = dict(hand.named_parameters())
    for key, p in graph_model.named_parameters():
        if ".cells." not in key and "shortcut" not in key:
            torch.testing.assert_close(p.grad, hand_params[key].grad, rtol=1e-10, atol=1e-12)
    # every node of the graph is recorded like a gate
    layer = rec["level0/step0"]
    assert set(layer.gates) == set(graph_model.levels[0].cells[0].gate_names)
    assert all(v.shape == (T, B, H) for v in layer.gates.values())


def test_build_model_equations_option_is_checked():
    with pytest.raises(RnnlabError, match="equations='h' does not apply to cell 'gru'; only cell 'graph'"):
        build_model(cell="gru", n_in=3, n_out=3, hidden=2, equations="h")
    with pytest.raises(RnnlabError, match="does not depend on the input x"):
        build_model(cell="graph", n_in=3, n_out=3, hidden=2, equations="h' = tanh(lin(h))")
    model = build_model(cell="graph", n_in=3, n_out=3, hidden=2)  # default: the GRU
    assert model.config["equations"] == LIBRARY["gru"].strip()
    with pytest.raises(RnnlabError, match="cell 'graph' has no option 'forget_bias'; its options: equations"):
        make_cell("graph", 3, 2, forget_bias=1.0)


# ----------------------------------------------------------------------- gradcheck of unusual graphs
ODD = {
    "shifts-and-c": """
a = relu(lin[1.1](x)) * tanh(x)
k = lin[0.9](h) - lin[1](c)
c' = sigmoid(k) * c + lin(a)
h' = tanh(lin[1](c') + k) * sigmoid(lin(h))
""",
    "x-only-and-inner": "u = sigmoid(lin(tanh(lin(x))))\nh' = u * lin[1.1](h * relu(lin(h))) - h",
    "c-of-x-alone": "c' = tanh(lin(x))\nh' = sigmoid(lin(h)) * c + c'",
}


@pytest.mark.parametrize("with_input", [True, False], ids=["input", "no-input"])
@pytest.mark.parametrize("name", list(ODD))
def test_unusual_graphs_pass_gradcheck(name, with_input):
    torch.manual_seed(4)
    n_in = 3 if with_input else 0
    cell = GraphCell(n_in, 2, equations=ODD[name]).double()
    x = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True) if with_input else None
    state = tuple(torch.randn(2, 2, dtype=torch.float64, requires_grad=True) for _ in cell.state_names)
    params = list(cell.parameters())

    def f(*tensors):
        x = tensors[0] if with_input else None
        rest = tensors[1:] if with_input else tensors
        prepared = cell.prepare_input(cell.input_projection(x))
        steps = prepared.unbind(0) if with_input else [prepared] * 3
        final, outs = rest[: len(cell.state_names)], []
        for x_prep in steps:
            final = cell.step(x_prep, final)
            outs.append(final[0])
        return torch.stack(outs), *final

    inputs = ((x,) if with_input else ()) + state + tuple(params)
    assert torch.autograd.gradcheck(f, inputs)


def test_shifted_linear_is_a_plus_w_v_plus_b():
    """lin[1.1](h) is literally 1.1 h + W h + b: checked against the formula written out."""
    torch.manual_seed(5)
    cell = GraphCell(N_IN, H, equations="h' = tanh(lin[1.1](h) + lin(x))").double()
    x = torch.randn(1, B, N_IN, dtype=torch.float64)
    h = torch.randn(B, H, dtype=torch.float64)
    (new,) = cell.step(cell.prepare_input(cell.input_projection(x))[0], (h,))
    expected = torch.tanh(1.1 * h + h @ cell.weight_h.T + cell.bias_h + x[0] @ cell.weight_x.T + cell.bias_x)
    torch.testing.assert_close(new, expected)


def test_graph_drawing_shows_every_node_and_edge():
    from rnnlab.cells.graph.draw import graph_figure

    graph = parse_equations(LIBRARY["lstm"])
    fig = graph_figure(graph, title="LSTM")
    assert sum(len(trace.x) for trace in fig.data) == len(graph.nodes)
    assert len(fig.layout.annotations) == sum(len(n.args) for n in graph.nodes)
    assert any("c'" in t for trace in fig.data for t in trace.text)


def test_random_graphs_compile_and_record_every_node():
    import random

    from rnnlab.cells.graph import library_graph
    from rnnlab.search.mutate import mutate

    rng = random.Random(8)
    torch.manual_seed(8)
    for k in range(40):
        child, _, _ = mutate(library_graph(("gru", "lstm", "mut1")[k % 3]), rng)
        for n_in in (N_IN, 0):
            cell = GraphCell(n_in, H, equations=child)
            x = cell.prepare_input(cell.input_projection(torch.randn(2, B, N_IN) if n_in else None))
            state = tuple(torch.randn(B, H) for _ in cell.state_names)
            x_t = x[0] if n_in else x
            plain = cell.step(x_t, state)
            gates = {}
            recorded = cell.step(x_t, state, gates=gates)
            assert set(gates) == set(cell.gate_names) and all(v.shape == (B, H) for v in gates.values())
            for a, b in zip(recorded, plain, strict=True):
                assert a.shape == (B, H) and torch.equal(a, b)


# ----------------------------------------------------------------------- the compiled step and the twins' paths
@pytest.mark.parametrize("name", list(LIBRARY))
def test_every_library_graph_is_recognised_by_its_canonical_form(name):
    cell = GraphCell(N_IN, H, equations=LIBRARY[name])
    assert cell.twin == name
    assert (cell.torch_equivalent is not None) == (name in ("tanh", "lstm", "lstm_b"))


def test_a_rewritten_lstm_is_the_lstm_and_other_graphs_are_no_twin():
    rewritten = """
    out = sigmoid(lin(h) + lin(x))      # o, written first and under other names
    keep = sigmoid(lin(x) + lin(h))
    write = sigmoid(lin(h) + lin(x))
    new = tanh(lin(x) + lin(h))
    c' = write * new + keep * c
    h' = out * tanh(c')
    """
    cell = GraphCell(N_IN, H, equations=rewritten)
    assert cell.twin == "lstm" and cell.torch_equivalent == "lstm"
    assert GraphCell(N_IN, H, equations="h' = tanh(lin(x) * lin(h))").twin is None
    # LSTM-b is not the LSTM: the bias offset is part of the graph
    assert GraphCell(N_IN, H, equations=LIBRARY["lstm_b"]).twin == "lstm_b"


@pytest.mark.parametrize("name", ["tanh", "lstm", "lstm_b"])
def test_fused_twins_run_the_torch_module_bit_for_bit(name):
    """A graph equal to a fused library cell runs nn.RNN / nn.LSTM: outputs and every gradient identical to the
    hand-written cell's fused path with the same weights (float32, exact equality)."""
    torch.manual_seed(6)
    kw = dict(arch="rnn", n_in=N_IN, n_out=N_IN, hidden=H)
    hand = build_model(cell=name, **kw)
    graph_model = build_model(cell="graph", equations=LIBRARY[name], **kw)
    assert hand.fused_levels() == graph_model.fused_levels() == [True]
    copy_model(name, graph_model, hand)
    x = torch.randn(T, B, N_IN)
    logits_g, state_g = graph_model(x)
    logits_h, state_h = hand(x)
    assert torch.equal(logits_g, logits_h)
    assert all(torch.equal(a, b) for a, b in zip(state_g[0], state_h[0], strict=True))
    logits_g.sum().backward()
    logits_h.sum().backward()
    cell_g, cell_h = graph_model.levels[0].cells[0], hand.levels[0].cells[0]
    for g, h, copied in pairs(name, cell_g, cell_h):
        if copied:
            assert torch.equal(g(True), h(True))
    # the loop (recording, token ids) computes the same to rounding
    logits_r, _, _ = graph_model(x, record=True)
    torch.testing.assert_close(logits_r, logits_h, rtol=1e-5, atol=1e-6)


def reference_step(cell: GraphCell, x_t, state):
    """One step evaluated node by node from the parameters (independent of the compiled plan)."""
    values = []
    e = None
    if cell.embed:
        e = x_t @ cell.weight_embed.T if x_t is not None else torch.zeros_like(state[0])
    for node in cell.graph.nodes:
        if node.op == "x":
            values.append(e)
        elif node.op in ("h", "c"):
            values.append(state[("h", "c").index(node.op)])
        elif is_linear(node.op):
            i = len(values)
            w_name, b_name, rows = cell.linear_slots[i]
            weight, bias = getattr(cell, w_name), getattr(cell, b_name)[rows]
            arg = node.args[0]
            if cell.graph.nodes[arg].op == "x" and not cell.embed:
                v, out = None, bias if x_t is None else x_t @ weight[rows].T + bias
            else:
                v = values[arg]
                out = bias if weight is None else v @ weight[rows].T + bias
            shift = {"lin": 0.0, "lin[1]": 1.0, "lin[0.9]": 0.9, "lin[1.1]": 1.1}[node.op]
            values.append(out + shift * v if shift else out)
        elif node.op in ("+", "-", "*"):
            a, b = (values[k] for k in node.args)
            values.append(a + b if node.op == "+" else a - b if node.op == "-" else a * b)
        else:
            values.append({"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[node.op](
                values[node.args[0]]))
    return tuple(values[o].expand_as(state[0]) for o in cell.graph.outputs)


@pytest.mark.parametrize("with_input", [True, False], ids=["input", "no-input"])
def test_compiled_step_equals_the_graph_evaluated_node_by_node(with_input):
    """Random children of the search's seeds (and the odd graphs): outputs and all gradients of the compiled step
    and of its generated stepper (fused sums, grouped activations, addcmul, folded biases; with and without a given
    h_proj) against the graph evaluated one node at a time, in float64; the stepper equals step exactly."""
    import random

    from rnnlab.cells.graph import library_graph
    from rnnlab.search.mutate import mutate

    rng = random.Random(11)
    torch.manual_seed(11)
    graphs = [mutate(library_graph(("gru", "lstm", "mut1", "minimalrnn")[k % 4]), rng)[0] for k in range(24)]
    graphs += [parse_equations(text) for text in ODD.values()] + [parse_equations(t) for t in LIBRARY.values()]
    n_in = N_IN if with_input else 0
    for graph in graphs:
        cell = GraphCell(n_in, H, equations=graph).double()
        with torch.no_grad():
            for p in cell.parameters():
                p.uniform_(-0.8, 0.8)
        x = torch.randn(T, B, N_IN, dtype=torch.float64) if with_input else None
        state0 = tuple(torch.randn(B, H, dtype=torch.float64) for _ in cell.state_names)
        probe = torch.randn(T, B, H, dtype=torch.float64)
        grads = []
        for mode in ("compiled", "h_proj", "stepper", "stepper_h_proj", "reference"):
            cell.zero_grad()
            step = cell.stepper() if mode.startswith("stepper") else cell.step
            prepared = cell.prepare_input(cell.input_projection(x))
            state, outs = state0, []
            for t in range(T):
                if mode == "reference":
                    state = reference_step(cell, x[t] if with_input else None, state)
                else:
                    x_prep = prepared[t] if with_input else prepared
                    weight, bias = cell.recurrent_weight()
                    h_proj = torch.nn.functional.linear(state[0], weight, bias) if "h_proj" in mode else None
                    state = step(x_prep, state, h_proj)
                outs.append(state[0])
            out = torch.stack(outs)
            ((out * probe).sum() + state[-1].sum()).backward()
            grads.append((out.detach(), [p.grad.clone() if p.grad is not None else None for p in cell.parameters()]))
        (ref, ref_grads) = grads[-1]
        # the stepper is step written out: the same operations, so the same floats
        for (a, a_grads), (b, b_grads) in ((grads[0], grads[2]), (grads[1], grads[3])):
            assert torch.equal(a, b), graph.canonical()
            assert all((ga is None and gb is None) or torch.equal(ga, gb)
                       for ga, gb in zip(a_grads, b_grads, strict=True))
        for got, got_grads in grads[:-1]:
            torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12, msg=graph.canonical())
            for a, b in zip(got_grads, ref_grads, strict=True):
                if b is None:
                    assert a is None or not a.any()
                else:
                    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=graph.canonical())
