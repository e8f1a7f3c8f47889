"""Every cell against an independent reference: torch.nn modules with copied weights (tanh, lstm, gru_v1), a
literal transcription of its paper equation written out below (all others), and float64 gradcheck."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnlab.cells import CELLS, make_cell
from rnnlab.errors import RnnlabError
from rnnlab.nets import build_model

T, B, N_IN, H = 6, 3, 5, 4
sig, tanh = torch.sigmoid, torch.tanh


def run_cell(cell, x, state):
    """Drive a cell step by step the way the level loop does (input projection hoisted)."""
    if x is None:
        xs = [cell.prepare_input(cell.input_projection(None))] * T
    else:
        xs = cell.prepare_input(cell.input_projection(x)).unbind(0)
    hs = []
    for x_proj in xs:
        state = cell.step(x_proj, state)
        hs.append(state[0])
    return torch.stack(hs), state


def run_reference(step, x, state, params):
    hs = []
    for t in range(T):
        state = step(None if x is None else x[t], state, params)
        hs.append(state[0])
    return torch.stack(hs), state


def blocks(tensor, n):
    return tensor.chunk(n, 0) if tensor is not None else [None] * n


def mv(weight, v):
    """weight @ v for a batch of row vectors v; an absent weight (no input) contributes nothing."""
    return 0.0 if weight is None or v is None else v @ weight.T


# ----------------------------------------------------------------------- literal transcriptions of the papers
def tanh_sigmoid_ref(x, state, p):
    """Pascanu Eq. 4 with φ = logistic sigmoid: h_t = σ(W h_{t-1} + U x_t + b)."""
    (h,) = state
    return (sig(mv(p.weight_hh, h) + mv(p.weight_ih, x) + p.bias_ih + p.bias_hh),)


def peephole_ref(x, state, p):
    """Chung et al. 2014 Eq. 4 (Graves 2013): peepholes on c_{t-1} for i, f and on the new c_t for o."""
    h, c = state
    Wi, Wf, Wc, Wo = blocks(p.weight_ih, 4)
    Ui, Uf, Uc, Uo = blocks(p.weight_hh, 4)
    bi, bf, bc, bo = p.bias.chunk(4)
    i = sig(mv(Wi, x) + mv(Ui, h) + p.peephole_i * c + bi)
    f = sig(mv(Wf, x) + mv(Uf, h) + p.peephole_f * c + bf)
    c_tilde = tanh(mv(Wc, x) + mv(Uc, h) + bc)
    c_new = f * c + i * c_tilde
    o = sig(mv(Wo, x) + mv(Uo, h) + p.peephole_o * c_new + bo)
    return o * tanh(c_new), c_new


def ablated_ref(removed):
    """Jozefowicz et al. 2015 LSTM-f / LSTM-i / LSTM-o: the removed gate is the constant 1."""

    def ref(x, state, p):
        h, c = state
        kept = [g for g in "ifgo" if g != removed]
        W = dict(zip(kept, blocks(p.weight_ih, 3), strict=True))
        U = dict(zip(kept, blocks(p.weight_hh, 3), strict=True))
        b = dict(zip(kept, p.bias.chunk(3), strict=True))
        pre = {g: mv(W[g], x) + mv(U[g], h) + b[g] for g in kept}
        i = sig(pre["i"]) if removed != "i" else 1.0
        f = sig(pre["f"]) if removed != "f" else 1.0
        o = sig(pre["o"]) if removed != "o" else 1.0
        c_new = f * c + i * tanh(pre["g"])
        return o * tanh(c_new), c_new

    return ref


def gru_ref(x, state, p):
    """Chung et al. 2014 Eq. 5: reset before U; h_t = (1 - z) h_{t-1} + z h~_t."""
    (h,) = state
    Wz, Wr, W = blocks(p.weight_ih, 3)
    Uz, Ur = p.weight_hh_zr.chunk(2, 0)
    bz, br, b = p.bias.chunk(3)
    z = sig(mv(Wz, x) + mv(Uz, h) + bz)
    r = sig(mv(Wr, x) + mv(Ur, h) + br)
    h_tilde = tanh(mv(W, x) + mv(p.weight_hh, r * h) + b)
    return ((1 - z) * h + z * h_tilde,)


def embedded(p, x):
    return None if x is None else mv(p.weight_embed, x)


def mut1_ref(x, state, p):
    """Jozefowicz et al. 2015 MUT1 with x := E x (our embedding): z ignores h, tanh(x) enters the candidate."""
    (h,) = state
    e = embedded(p, x)
    W_xz, W_xr = blocks(p.weight_ih, 2)
    b_z, b_r, b_h = p.bias.chunk(3)
    z = sig(mv(W_xz, e) + b_z)
    r = sig(mv(W_xr, e) + mv(p.weight_hh_r, h) + b_r)
    tanh_x = 0.0 if e is None else tanh(e)
    return (tanh(mv(p.weight_hh, r * h) + tanh_x + b_h) * z + h * (1 - z),)


def mut2_ref(x, state, p):
    """MUT2 with x := E x: the reset gate reads x with no matrix."""
    (h,) = state
    e = embedded(p, x)
    W_xz, W_xh = blocks(p.weight_ih, 2)
    W_hz, W_hr = p.weight_hh_zr.chunk(2, 0)
    b_z, b_r, b_h = p.bias.chunk(3)
    z = sig(mv(W_xz, e) + mv(W_hz, h) + b_z)
    r = sig((0.0 if e is None else e) + mv(W_hr, h) + b_r)
    return (tanh(mv(p.weight_hh, r * h) + mv(W_xh, e) + b_h) * z + h * (1 - z),)


def mut3_ref(x, state, p):
    """MUT3: the update gate reads tanh(h)."""
    (h,) = state
    W_xz, W_xr, W_xh = blocks(p.weight_ih, 3)
    b_z, b_r, b_h = p.bias.chunk(3)
    z = sig(mv(W_xz, x) + mv(p.weight_hh_z, tanh(h)) + b_z)
    r = sig(mv(W_xr, x) + mv(p.weight_hh_r, h) + b_r)
    return (tanh(mv(p.weight_hh, r * h) + mv(W_xh, x) + b_h) * z + h * (1 - z),)


def gru_v1_ref(x, state, p):
    """Cho et al. 2014 as torch.nn.GRU documents it (reset after U; z keeps h_{t-1})."""
    (h,) = state
    Wr, Wz, Wn = blocks(p.weight_ih, 3)
    Ur, Uz, Un = p.weight_hh.chunk(3, 0)
    bir, biz, bin_ = p.bias_ih.chunk(3)
    bhr, bhz, bhn = p.bias_hh.chunk(3)
    r = sig(mv(Wr, x) + bir + mv(Ur, h) + bhr)
    z = sig(mv(Wz, x) + biz + mv(Uz, h) + bhz)
    n = tanh(mv(Wn, x) + bin_ + r * (mv(Un, h) + bhn))
    return ((1 - z) * n + z * h,)


def lstm_ref(x, state, p):
    """Hochreiter & Schmidhuber 1997 with forget gate, no peepholes (Jozefowicz's baseline)."""
    h, c = state
    Wi, Wf, Wg, Wo = blocks(p.weight_ih, 4)
    Ui, Uf, Ug, Uo = p.weight_hh.chunk(4, 0)
    b = (p.bias_ih + p.bias_hh).chunk(4)
    i, f = sig(mv(Wi, x) + mv(Ui, h) + b[0]), sig(mv(Wf, x) + mv(Uf, h) + b[1])
    g, o = tanh(mv(Wg, x) + mv(Ug, h) + b[2]), sig(mv(Wo, x) + mv(Uo, h) + b[3])
    c_new = f * c + i * g
    return o * tanh(c_new), c_new


REFERENCES = {
    "lstm": lstm_ref, "lstm_b": lstm_ref, "lstm_peephole": peephole_ref, "lstm_nof": ablated_ref("f"),
    "lstm_noi": ablated_ref("i"), "lstm_noo": ablated_ref("o"), "gru": gru_ref, "gru_v1": gru_v1_ref,
    "mut1": mut1_ref, "mut2": mut2_ref, "mut3": mut3_ref,
}


def random_state(cell, dtype=torch.float32):
    return tuple(torch.randn(B, cell.prev_size, dtype=dtype) for _ in cell.state_names)


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("with_input", [True, False], ids=["input", "no-input"])
def test_cell_equals_its_paper_equation(name, with_input):
    torch.manual_seed(0)
    cell = make_cell(name, N_IN if with_input else 0, H)
    with torch.no_grad():
        for param in cell.parameters():
            param.normal_(0, 0.5)
    x = torch.randn(T, B, N_IN) if with_input else None
    state = random_state(cell)
    ours, ours_final = run_cell(cell, x, state)
    ref, ref_final = run_reference(REFERENCES[name], x, state, cell)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    for a, b in zip(ours_final, ref_final, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_tanh_cell_with_sigmoid_equals_pascanu_eq4():
    torch.manual_seed(1)
    cell = make_cell("tanh", N_IN, H, nonlinearity="sigmoid")
    x, state = torch.randn(T, B, N_IN), random_state(cell)
    torch.testing.assert_close(run_cell(cell, x, state)[0], run_reference(tanh_sigmoid_ref, x, state, cell)[0])


def test_pooling_units_equal_their_definitions():
    torch.manual_seed(2)
    u = torch.randn(B, 3 * H)
    lp = make_cell("tanh", N_IN, H, nonlinearity="lp", pool_size=3).phi
    p = 1 + torch.log1p(torch.exp(lp.rho))  # Gulcehre et al.: p = 1 + softplus(ρ)
    groups = u.view(B, H, 3)
    expected = (groups.abs() ** p[:, None]).sum(-1) ** (1 / p)
    torch.testing.assert_close(lp(u), expected)
    fixed = make_cell("tanh", N_IN, H, nonlinearity="lp", pool_size=3, lp_p=3.0).phi
    torch.testing.assert_close(fixed(u), (groups.abs() ** 3).sum(-1) ** (1 / 3))
    maxout = make_cell("tanh", N_IN, H, nonlinearity="maxout", pool_size=3).phi
    torch.testing.assert_close(maxout(u), torch.stack([groups[..., k] for k in range(3)]).max(0).values)


def test_relu_tanh_cell_is_relu_rnn_and_lstm_b_adds_one_to_the_forget_bias():
    torch.manual_seed(3)
    relu = make_cell("tanh", N_IN, H, nonlinearity="relu")
    x, (h,) = torch.randn(T, B, N_IN), random_state(relu)
    out, _ = run_cell(relu, x, (h,))
    ref = nn.RNN(N_IN, H, nonlinearity="relu")
    ref.load_state_dict({f"{k}_l0": v for k, v in relu.state_dict().items()})
    torch.testing.assert_close(out, ref(x, h[None])[0])
    torch.manual_seed(4)
    plain = make_cell("lstm", N_IN, H)
    torch.manual_seed(4)
    lstm_b = make_cell("lstm_b", N_IN, H)
    shift = torch.zeros(4 * H)
    shift[H : 2 * H] = 1.0
    torch.testing.assert_close(lstm_b.bias_ih, plain.bias_ih + shift)
    torch.testing.assert_close(lstm_b.weight_hh, plain.weight_hh)


# ----------------------------------------------------------------------- torch.nn parity, fused and loop paths
TORCH = {"tanh": nn.RNN, "lstm": nn.LSTM, "gru_v1": nn.GRU}


@pytest.mark.parametrize("fused", ["auto", "never"])
@pytest.mark.parametrize("name", list(TORCH))
def test_torch_cells_equal_torch_nn_with_copied_weights(name, fused):
    torch.manual_seed(5)
    model = build_model(arch="rnn", cell=name, n_in=N_IN, n_out=3, hidden=H, fused=fused)
    rnn, out = TORCH[name](N_IN, H), nn.Linear(H, 3)
    cell = model.levels[0].cells[0]
    with torch.no_grad():
        for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, key).copy_(getattr(rnn, f"{key}_l0"))
        model.readout.load_state_dict(out.state_dict())
    assert model.fused_levels() == [fused == "auto"]
    x = torch.randn(T, B, N_IN)
    state0 = random_state(cell)
    probe = torch.randn(T, B, 3)
    logits, (state,) = model(x, [state0])
    ref_h, ref_final = rnn(x, tuple(s[None] for s in state0) if len(state0) > 1 else state0[0][None])
    ref_logits = out(ref_h)
    torch.testing.assert_close(logits, ref_logits, rtol=1e-5, atol=1e-5)
    ref_final = ref_final if isinstance(ref_final, tuple) else (ref_final,)
    for ours, theirs in zip(state, ref_final, strict=True):
        torch.testing.assert_close(ours, theirs[0], rtol=1e-5, atol=1e-5)
    ((logits * probe).sum() + state[-1].sum()).backward()
    ((ref_logits * probe).sum() + ref_final[-1].sum()).backward()
    for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        torch.testing.assert_close(getattr(cell, key).grad, getattr(rnn, f"{key}_l0").grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.readout.weight.grad, out.weight.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.readout.bias.grad, out.bias.grad, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------- gradcheck
CELL_VARIANTS = [(name, {}) for name in CELLS if name != "tanh"] + [
    ("tanh", {"nonlinearity": phi}) for phi in ("tanh", "sigmoid", "relu", "lp", "maxout")
] + [("tanh", {"nonlinearity": "lp", "lp_p": 2.5})]


@pytest.mark.parametrize("name, options", CELL_VARIANTS, ids=lambda v: str(v) if isinstance(v, str) else
                         "-".join(map(str, v.values())))
def test_cell_passes_gradcheck(name, options):
    torch.manual_seed(6)
    cell = make_cell(name, 3, 2, **options).double()
    x = torch.randn(3, B, 3, dtype=torch.float64, requires_grad=True)
    state = tuple(s.requires_grad_() for s in random_state(cell, torch.float64))
    params = list(cell.parameters())

    def f(x, *tensors):
        state = tensors[: len(cell.state_names)]
        out, final = [], state
        for x_proj in cell.prepare_input(cell.input_projection(x)).unbind(0):
            final = cell.step(x_proj, final)
            out.append(final[0])
        return torch.stack(out), *final

    assert torch.autograd.gradcheck(f, (x, *state, *params))


# ----------------------------------------------------------------------- bad input
def test_make_cell_rejects_bad_input_naming_value_and_choices():
    with pytest.raises(RnnlabError, match="unknown cell 'lstmm'.*tanh, lstm, lstm_b"):
        make_cell("lstmm", 3, 2)
    with pytest.raises(RnnlabError, match="hidden_size must be an integer >= 1, got 0"):
        make_cell("gru", 3, 0)
    with pytest.raises(RnnlabError, match="cell 'gru' has no option 'forget_bias'; its options: none"):
        make_cell("gru", 3, 2, forget_bias=1.0)
    with pytest.raises(RnnlabError, match="unknown nonlinearity 'softsign'; valid choices: tanh, sigmoid"):
        make_cell("tanh", 3, 2, nonlinearity="softsign")
    with pytest.raises(RnnlabError, match="intermediate width must equal hidden"):
        make_cell("lstm", 3, 2, prev_size=5)
