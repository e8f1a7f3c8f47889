"""Deep constructions against literal transcriptions of Pascanu et al. 2014, gradcheck of every preset,
the fused path, token input, recording and ∂L/∂h_t, state handling, config round trips and bad input."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from rnnlab.cells import CELLS
from rnnlab.errors import RnnlabError
from rnnlab.nets import ARCHS, RecurrentNet, build_model, count_params

T, B, N_IN, N_OUT, H = 5, 3, 4, 3, 6
sig = torch.sigmoid


def lin(x, weight, bias=None):
    out = x @ weight.T
    return out if bias is None else out + bias


def randomize(model, std=0.5):
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0, std)
    return model


# ------------------------------------------------------------------ literal transcriptions (docs/papers.md §1.2)
def test_dts_rnn_equals_pascanu_dts_equations():
    """z_t = φ(W_1 h_{t-1} + U_1 x_t), h_t = φ(W_2 z_t + S h_{t-1} + U_2 x_t), y_t = V h_t (φ = sigmoid)."""
    torch.manual_seed(0)
    model = randomize(build_model(arch="dts-rnn", cell="tanh", n_in=N_IN, n_out=N_OUT, hidden=H,
                                  transition_hidden=7, nonlinearity="sigmoid"))
    low, top = model.levels[0].cells
    S = model.levels[0].shortcut_weight
    x = torch.randn(T, B, N_IN)
    h, ys = torch.zeros(B, H), []
    for t in range(T):
        z = sig(lin(h, low.weight_hh) + lin(x[t], low.weight_ih) + low.bias_ih + low.bias_hh)
        h = sig(lin(z, top.weight_hh) + lin(h, S) + lin(x[t], top.weight_ih) + top.bias_ih + top.bias_hh)
        ys.append(lin(h, model.readout.weight, model.readout.bias))
    logits, [(h_final,)] = model(x)
    torch.testing.assert_close(logits, torch.stack(ys))
    torch.testing.assert_close(h_final, h)


def test_dot_rnn_equals_pascanu_dt_and_do_equations():
    """DT: h_t = φ(W_2 φ(W_1 h_{t-1} + U x_t)) (no shortcut, no second input); DO: y_t = V_2 φ_d(V_1 h_t)."""
    torch.manual_seed(1)
    model = randomize(build_model(arch="dot-rnn", cell="tanh", n_in=N_IN, n_out=N_OUT, hidden=H, transition_depth=3,
                                  transition_hidden=5, output_hidden=8, nonlinearity="sigmoid",
                                  output_nonlinearity="relu"))
    cells = model.levels[0].cells
    assert cells[1].input_size == cells[2].input_size == 0 and model.levels[0].shortcut_weight is None
    hidden_out = model.output_layers[0].linear
    x = torch.randn(T, B, N_IN)
    h, ys = torch.zeros(B, H), []
    for t in range(T):
        z1 = sig(lin(h, cells[0].weight_hh) + lin(x[t], cells[0].weight_ih) + cells[0].bias_ih + cells[0].bias_hh)
        z2 = sig(lin(z1, cells[1].weight_hh) + cells[1].bias_ih + cells[1].bias_hh)
        h = sig(lin(z2, cells[2].weight_hh) + cells[2].bias_ih + cells[2].bias_hh)
        ys.append(lin(torch.relu(lin(h, hidden_out.weight, hidden_out.bias)), model.readout.weight,
                      model.readout.bias))
    torch.testing.assert_close(model(x)[0], torch.stack(ys))


def test_srnn_with_deep_input_equals_the_stacked_equations():
    """sRNN: h^(l)_t = φ(W_l h^(l)_{t-1} + U_l h^(l-1)_t), h^(0) = deep-input MLP of x_t; output from the top only."""
    torch.manual_seed(2)
    model = randomize(build_model(arch="srnn", cell="tanh", n_in=N_IN, n_out=N_OUT, hidden=H, levels=3,
                                  input_depth=2, input_hidden=5))
    x = torch.randn(T, B, N_IN)
    hs, ys = [torch.zeros(B, H) for _ in range(3)], []
    for t in range(T):
        below = x[t]
        for layer in model.input_layers:
            below = torch.tanh(lin(below, layer.linear.weight, layer.linear.bias))
        for k, level in enumerate(model.levels):
            c = level.cells[0]
            hs[k] = torch.tanh(lin(hs[k], c.weight_hh) + lin(below, c.weight_ih) + c.bias_ih + c.bias_hh)
            below = hs[k]
        ys.append(lin(hs[-1], model.readout.weight, model.readout.bias))
    torch.testing.assert_close(model(x)[0], torch.stack(ys))


def test_deep_transition_of_a_gated_cell_threads_the_state_through_the_chain():
    """DT(S)-LSTM: step 1 reads x_t and (h, c)_{t-1}; step 2 reads (h, c) of step 1 plus [x_t; h_{t-1}]."""
    torch.manual_seed(3)
    model = randomize(build_model(arch="dts-rnn", cell="lstm", n_in=N_IN, n_out=N_OUT, hidden=H))
    low, top = model.levels[0].cells
    S = model.levels[0].shortcut_weight

    def lstm(pre, c):
        i, f, g, o = pre.chunk(4, -1)
        c = sig(f) * c + sig(i) * torch.tanh(g)
        return sig(o) * torch.tanh(c), c

    x = torch.randn(T, B, N_IN)
    h, c = torch.zeros(B, H), torch.zeros(B, H)
    for t in range(T):
        h1, c1 = lstm(lin(x[t], low.weight_ih, low.bias_ih) + lin(h, low.weight_hh, low.bias_hh), c)
        h, c = lstm(lin(x[t], top.weight_ih, top.bias_ih) + lin(h1, top.weight_hh, top.bias_hh) + lin(h, S), c1)
    _, [(h_final, c_final)] = model(x)
    torch.testing.assert_close(h_final, h)
    torch.testing.assert_close(c_final, c)


# ----------------------------------------------------------------------- gradcheck of every preset
def gradcheck_model(model, x):
    model = model.double()
    names, params = zip(*model.named_parameters(), strict=True)

    def f(x, *values):
        out, state = torch.func.functional_call(model, dict(zip(names, values, strict=True)), (x,))
        return out, *state[-1]

    return torch.autograd.gradcheck(f, (x, *params))


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("cell", ["tanh", "lstm", "gru", "mut1", "lstm_peephole"])
def test_every_preset_passes_gradcheck(arch, cell):
    torch.manual_seed(4)
    model = build_model(arch=arch, cell=cell, n_in=3, n_out=2, hidden=2, fused="never")
    assert gradcheck_model(model, torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True))


def test_pooling_units_in_deep_transition_and_output_pass_gradcheck():
    """Pascanu's DOT(S)-RNN*: L_p units in the transition, maxout in the output (plus a deep input)."""
    torch.manual_seed(5)
    model = build_model(arch="dots-rnn", cell="tanh", n_in=3, n_out=2, hidden=2, transition_hidden=3,
                        nonlinearity="sigmoid", transition_nonlinearity="lp", output_nonlinearity="maxout",
                        pool_size=2, input_depth=1)
    assert gradcheck_model(model, torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True))


# ----------------------------------------------------------------------- fused path, token input
@pytest.mark.parametrize("cell", ["tanh", "lstm", "lstm_b", "gru_v1"])
def test_fused_and_loop_paths_agree_on_stacked_levels(cell):
    torch.manual_seed(6)
    fused = build_model(arch="srnn", cell=cell, n_in=N_IN, n_out=N_OUT, hidden=H, levels=2)
    loop = build_model(**{**fused.config, "fused": "never"})
    loop.load_state_dict(fused.state_dict())
    assert fused.fused_levels() == [True, True] and loop.fused_levels() == [False, False]
    x = torch.randn(T, B, N_IN)
    (a, sa), (b, sb) = fused(x), loop(x)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(sa, sb, rtol=1e-5, atol=1e-5)
    a.square().sum().backward()
    b.square().sum().backward()
    for (name, p), q in zip(fused.named_parameters(), loop.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-5, msg=name)


def test_non_torch_configurations_are_not_fused():
    for kwargs in (dict(cell="tanh", nonlinearity="sigmoid"), dict(cell="lstm_peephole"), dict(cell="gru"),
                   dict(arch="dt-rnn", cell="lstm")):
        assert build_model(n_in=3, n_out=3, hidden=4, **kwargs).fused_levels() == [False]


@pytest.mark.parametrize("arch, cell, extra", [("dts-rnn", "gru", {}), ("rnn", "mut1", {}), ("rnn", "lstm", {}),
                                               ("do-rnn", "tanh", {"input_depth": 1})])
def test_token_input_equals_one_hot_input(arch, cell, extra):
    torch.manual_seed(7)
    vocab = 9
    tokens = build_model(arch=arch, cell=cell, n_in=vocab, n_out=vocab, hidden=H, token_input=True, **extra)
    dense = build_model(**{**tokens.config, "token_input": False})
    dense.load_state_dict(tokens.state_dict())
    ids = torch.randint(0, vocab, (T, B))
    torch.testing.assert_close(tokens(ids)[0], dense(nn.functional.one_hot(ids, vocab).float())[0])
    with pytest.raises(RnnlabError, match="token_input=True expects int64 ids"):
        tokens(torch.randn(T, B, vocab))


# ----------------------------------------------------------------------- recording and dL/dh_t
def test_recording_names_shapes_and_gates():
    torch.manual_seed(8)
    model = build_model(arch="dots-rnn", cell="lstm_noo", n_in=N_IN, n_out=N_OUT, hidden=H, output_hidden=5,
                        input_depth=1, input_hidden=7)
    x = torch.randn(T, B, N_IN)
    logits, state, rec = model(x, record=True)
    assert rec.names == ["input/layer0", "level0/step0", "level0/step1", "output/layer0"]
    assert rec["input/layer0"].h.shape == (T, B, 7) and rec["output/layer0"].h.shape == (T, B, 5)
    top = rec["level0/step1"]
    assert top.h.shape == top.c.shape == (T, B, H)
    assert sorted(top.gates) == ["f", "g", "i"]  # o is removed: the constant 1
    assert all(g.shape == (T, B, H) for g in top.gates.values())
    torch.testing.assert_close(top.h[-1], state[0][0])
    torch.testing.assert_close(top.c[-1], state[0][1])
    torch.testing.assert_close(logits, model(x)[0])
    gru = build_model(arch="srnn", cell="gru", n_in=N_IN, n_out=N_OUT, hidden=H)
    rec = gru(x, record=True)[2]
    assert rec.names == ["level0/step0", "level1/step0"] and rec["level1/step0"].c is None
    assert sorted(rec["level1/step0"].gates) == ["n", "r", "z"]


def test_grad_h_equals_autograd_of_an_independent_loop():
    """rec.grad_h(name)[t] = total ∂L/∂h_t, checked against a separate DT(S) loop written here."""
    torch.manual_seed(9)
    model = randomize(build_model(arch="dts-rnn", cell="tanh", n_in=N_IN, n_out=N_OUT, hidden=H), std=0.4)
    x, probe = torch.randn(T, B, N_IN), torch.randn(T, B, N_OUT)
    logits, _, rec = model(x, record=True)
    (logits * probe).sum().backward()

    low, top = model.levels[0].cells
    S = model.levels[0].shortcut_weight.detach()
    h, zs, hs, ys = torch.zeros(B, H, requires_grad=True), [], [], []
    for t in range(T):
        z = torch.tanh(lin(h, low.weight_hh.detach()) + lin(x[t], low.weight_ih.detach()) + low.bias_ih.detach()
                       + low.bias_hh.detach())
        h = torch.tanh(lin(z, top.weight_hh.detach()) + lin(h, S) + lin(x[t], top.weight_ih.detach())
                       + top.bias_ih.detach() + top.bias_hh.detach())
        zs.append(z)
        hs.append(h)
        ys.append(lin(h, model.readout.weight.detach(), model.readout.bias.detach()))
    loss = (torch.stack(ys) * probe).sum()
    grads = torch.autograd.grad(loss, zs + hs)
    torch.testing.assert_close(rec.grad_h("level0/step0"), torch.stack(grads[:T]))
    torch.testing.assert_close(rec.grad_h("level0/step1"), torch.stack(grads[T:]))


def test_grad_h_of_an_lstm_matches_torch_lstmcell_loop():
    torch.manual_seed(10)
    model = build_model(arch="rnn", cell="lstm", n_in=N_IN, n_out=N_OUT, hidden=H)
    cell = model.levels[0].cells[0]
    ref = nn.LSTMCell(N_IN, H)
    ref.load_state_dict(cell.state_dict())
    x = torch.randn(T, B, N_IN)
    logits, _, rec = model(x, record=True)
    logits[-1].sum().backward()  # the loss reads the last step only: ∂L/∂h_t is the signal reaching back to t
    h, c, hs = torch.zeros(B, H), torch.zeros(B, H), []
    for t in range(T):
        h, c = ref(x[t], (h, c))
        hs.append(h)
    loss = model.readout(hs[-1]).sum()
    torch.testing.assert_close(rec.grad_h("level0/step0"), torch.stack(torch.autograd.grad(loss, hs)))
    with pytest.raises(RnnlabError, match="no gradient recorded"):
        model(x, record=True)[2].grad_h("level0/step0")


# ----------------------------------------------------------------------- state, config, device
def test_state_carries_across_calls_and_zero_state_is_explicit():
    torch.manual_seed(11)
    model = build_model(arch="dts-rnn", cell="lstm_peephole", n_in=N_IN, n_out=N_OUT, hidden=H)
    x = torch.randn(2 * T, B, N_IN)
    whole, _ = model(x)
    first, state = model(x[:T])
    second, _ = model(x[T:], state)
    torch.testing.assert_close(torch.cat((first, second)), whole)
    zero = model.zero_state(B, torch.device("cpu"))
    assert [tuple(s.shape) for s in zero[0]] == [(B, H), (B, H)] and not any(s.any() for s in zero[0])
    torch.testing.assert_close(model(x, zero)[0], whole)


def test_config_rebuilds_the_model_and_describe_is_json():
    torch.manual_seed(12)
    model = build_model(arch="dots-rnn", cell="tanh", n_in=N_IN, n_out=N_OUT, hidden=H, transition_hidden=5,
                        output_hidden=7, nonlinearity="sigmoid", output_nonlinearity="maxout", pool_size=3)
    config = json.loads(json.dumps(model.config))
    clone = RecurrentNet.from_config(config)
    clone.load_state_dict(model.state_dict())
    x = torch.randn(T, B, N_IN)
    torch.testing.assert_close(clone(x)[0], model(x)[0])
    info = json.loads(json.dumps(model.describe()))
    assert info["arch"] == "dots-rnn" and info["n_params"] == count_params(model)
    assert info["transition_depth"] == 2 and info["levels"] == 1
    for arch in ARCHS:
        for cell in CELLS:
            m = build_model(arch=arch, cell=cell, n_in=3, n_out=2, hidden=4)
            assert build_model(**m.config).config == m.config


def test_pascanu_initialisation():
    torch.manual_seed(13)
    model = build_model(arch="dots-rnn", cell="lstm_b", n_in=88, n_out=88, hidden=64, init="pascanu")
    model.requires_grad_(False)
    low, top = model.levels[0].cells
    for block in low.weight_hh.chunk(4):
        assert ((block != 0).sum(1) == 20).all()
        torch.testing.assert_close(torch.linalg.matrix_norm(block, ord=2), torch.tensor(1.0))
    assert torch.linalg.matrix_norm(model.levels[0].shortcut_weight[:64], ord=2) == pytest.approx(1.0, abs=1e-5)
    assert low.weight_ih.std().item() == pytest.approx(0.1, rel=0.1)
    assert model.readout.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert model.output_layers[0].linear.weight.std().item() == pytest.approx(0.01, rel=0.1)
    forget = torch.zeros(4 * 64)
    forget[64:128] = 1.0  # biases 0, then LSTM-b's forget bias +1
    torch.testing.assert_close(low.bias_ih, forget)
    assert not model.readout.bias.any()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
@pytest.mark.parametrize("cell", ["lstm", "gru", "tanh"])
def test_cuda_matches_cpu(cell):
    torch.manual_seed(14)
    model = build_model(arch="dts-rnn" if cell == "gru" else "rnn", cell=cell, n_in=N_IN, n_out=N_OUT, hidden=H)
    x = torch.randn(T, B, N_IN)
    expected = model(x)[0]
    got = model.cuda()(x.cuda())[0]
    torch.testing.assert_close(got.cpu(), expected, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------- bad input
BAD = [
    (dict(arch="deep-rnn"), "unknown arch 'deep-rnn'; valid choices: rnn, dt-rnn, dts-rnn, do-rnn, dot-rnn"),
    (dict(cell="lstm2"), "unknown cell 'lstm2'; valid choices: tanh, lstm"),
    (dict(hidden=0), "hidden must be an integer >= 1, got 0"),
    (dict(n_in=-3), "n_in must be an integer >= 1, got -3"),
    (dict(arch="dt-rnn", transition_depth=0), "transition_depth must be an integer >= 1, got 0"),
    (dict(arch="dt-rnn", transition_depth=1), r"transition_depth must be >= 2 for arch 'dt-rnn'"),
    (dict(arch="srnn", levels=1), r"levels must be >= 2 for arch 'srnn'"),
    (dict(arch="do-rnn", output_depth=0), "output_depth must be an integer >= 1, got 0"),
    (dict(arch="dt-rnn", levels=3), "levels=3 does not apply to arch 'dt-rnn'; it is used by: srnn"),
    (dict(arch="rnn", transition_depth=3), "transition_depth=3 does not apply to arch 'rnn'; it is used by: dt-rnn"),
    (dict(arch="rnn", output_hidden=50), "output_hidden=50 does not apply: arch 'rnn' has no deep output"),
    (dict(arch="dt-rnn", cell="gru", transition_hidden=5), r"transition_hidden=5 must equal hidden=4 for cell 'gru'"),
    (dict(cell="gru", forget_bias=1.0), "forget_bias=1.0 does not apply to cell 'gru'; cells with a forget gate: lstm"),
    (dict(cell="lstm", nonlinearity="relu"), "nonlinearity='relu' does not apply: cell 'lstm' with arch 'rnn'"),
    (dict(nonlinearity="softsign"), "unknown nonlinearity 'softsign'; valid choices: tanh, sigmoid, relu, lp, maxout"),
    (dict(pool_size=3), "pool_size=3 does not apply: no layer uses lp or maxout units"),
    (dict(input_depth=-1), "input_depth must be an integer >= 0, got -1"),
    (dict(input_hidden=8), "input_hidden=8 does not apply: input_depth is 0"),
    (dict(fused="always"), "unknown fused 'always'; valid choices: auto, never"),
    (dict(init="xavier"), "unknown init 'xavier'; valid choices: default, pascanu"),
    (dict(cell="tanh", transition_nonlinearity="lp"), "transition_nonlinearity='lp' does not apply"),
]


@pytest.mark.parametrize("kwargs, message", BAD, ids=[m.split(" ")[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_options_raise_one_clear_error(kwargs, message):
    with pytest.raises(RnnlabError, match=message):
        build_model(**{"n_in": 3, "n_out": 3, "hidden": 4, **kwargs})


def test_bad_inputs_to_forward():
    model = build_model(n_in=3, n_out=3, hidden=4)
    with pytest.raises(RnnlabError, match=r"expected float input of shape \(T,B,3\)"):
        model(torch.randn(5, 2, 4))
    with pytest.raises(RnnlabError, match="state must hold one entry per level"):
        model(torch.randn(5, 2, 3), [])


def test_dropout_acts_on_non_recurrent_connections_in_training_only():
    torch.manual_seed(15)
    model = build_model(arch="srnn", cell="lstm", n_in=N_IN, n_out=N_OUT, hidden=H, dropout=0.5)
    plain = build_model(**{**model.config, "dropout": 0.0})
    plain.load_state_dict(model.state_dict())
    x = torch.randn(T, B, N_IN)
    model.eval()
    torch.testing.assert_close(model(x)[0], plain(x)[0])
    model.train()
    assert model.fused_levels() == [True, True]
    assert not torch.allclose(model(x)[0], plain(x)[0])
    with pytest.raises(RnnlabError, match="dropout must be a number in \\[0, 1\\), got 1.5"):
        build_model(n_in=3, n_out=3, hidden=4, dropout=1.5)
