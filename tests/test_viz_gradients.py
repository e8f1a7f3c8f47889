"""Gradient-flow measurements and figures, the spectral-norm recorder, and the gradient widget.

‖∂L_T/∂h_t‖ is checked against autograd on literal transcriptions of the recurrences (tanh RNN, DT(S)-RNN) and on
``torch.nn.LSTMCell`` with copied weights; per-layer norms against the trainer's own clipped norm; spectral norms
against numpy's SVD of the named parameter blocks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from rnnlab.data.dataset import Dataset
from rnnlab.errors import RnnlabError
from rnnlab.nets import build_model
from rnnlab.train import TrainConfig
from rnnlab.train.callbacks import Callback, GradNormRecorder, SpectralNormRecorder
from rnnlab.train.trainer import Trainer
from rnnlab.viz import gradients
from rnnlab.viz.widgets import GradientExplorer


def _batch(steps=9, batch=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    seq = (torch.rand(steps + 1, batch, 88, generator=generator) < 0.06).float()
    return seq[:-1], seq[1:]


def _last_step_loss(logits_last, y_last):
    return F.binary_cross_entropy_with_logits(logits_last, y_last, reduction="none").sum(-1).mean()


def _norms(grads):
    return np.array([g.norm(dim=-1).mean().item() for g in grads])


def test_last_step_gradients_of_a_tanh_rnn_match_autograd_on_the_literal_recurrence():
    torch.manual_seed(0)
    model = build_model(arch="rnn", cell="tanh", n_in=88, n_out=88, hidden=7)
    x, y = _batch()
    curves = gradients.last_step_grad_norms(model, x, y, "bernoulli")
    p = dict(model.named_parameters())
    cell = "levels.0.cells.0."
    h = torch.zeros(x.shape[1], 7)
    hs = []
    for t in range(x.shape[0]):  # h_t = tanh(W x_t + b_ih + U h_{t-1} + b_hh)
        h = torch.tanh(x[t] @ p[cell + "weight_ih"].T + p[cell + "bias_ih"] + h @ p[cell + "weight_hh"].T
                       + p[cell + "bias_hh"])
        hs.append(h)
    loss = _last_step_loss(hs[-1] @ p["readout.weight"].T + p["readout.bias"], y[-1])
    reference = _norms(torch.autograd.grad(loss, hs))
    assert list(curves) == ["level0/step0"]
    np.testing.assert_allclose(curves["level0/step0"], reference, rtol=1e-5, atol=1e-9)
    assert all(q.grad is None for q in model.parameters()) and model.training


def test_last_step_gradients_of_a_dts_rnn_match_autograd_for_both_transition_layers():
    torch.manual_seed(1)
    model = build_model(arch="dts-rnn", cell="tanh", n_in=88, n_out=88, hidden=5)
    x, y = _batch(steps=7, batch=2, seed=1)
    curves = gradients.last_step_grad_norms(model, x, y, "bernoulli")
    p = dict(model.named_parameters())
    c0, c1 = "levels.0.cells.0.", "levels.0.cells.1."
    h = torch.zeros(2, 5)
    zs, hs = [], []
    for t in range(x.shape[0]):
        # z_t = φ(W_1 h_{t-1} + U_1 x_t + b_1);  h_t = φ(W_2 z_t + S h_{t-1} + U_2 x_t + b_2)   (Pascanu DT(S))
        z = torch.tanh(h @ p[c0 + "weight_hh"].T + x[t] @ p[c0 + "weight_ih"].T + p[c0 + "bias_ih"]
                       + p[c0 + "bias_hh"])
        h = torch.tanh(z @ p[c1 + "weight_hh"].T + h @ p["levels.0.shortcut_weight"].T
                       + x[t] @ p[c1 + "weight_ih"].T + p[c1 + "bias_ih"] + p[c1 + "bias_hh"])
        zs.append(z)
        hs.append(h)
    loss = _last_step_loss(hs[-1] @ p["readout.weight"].T + p["readout.bias"], y[-1])
    grads = torch.autograd.grad(loss, zs + hs)
    np.testing.assert_allclose(curves["level0/step0"], _norms(grads[:7]), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(curves["level0/step1"], _norms(grads[7:]), rtol=1e-5, atol=1e-9)


def test_last_step_gradients_of_an_lstm_match_torch_lstm_cell_with_copied_weights():
    torch.manual_seed(2)
    model = build_model(arch="rnn", cell="lstm", n_in=88, n_out=88, hidden=6)
    x, y = _batch(steps=8, batch=3, seed=2)
    curves = gradients.last_step_grad_norms(model, x, y, "bernoulli")
    reference_cell = torch.nn.LSTMCell(88, 6)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference_cell, name).copy_(dict(model.named_parameters())[f"levels.0.cells.0.{name}"])
    h = c = torch.zeros(3, 6)
    hs = []
    for t in range(8):
        h, c = reference_cell(x[t], (h, c))
        hs.append(h)
    loss = _last_step_loss(model.readout(hs[-1]), y[-1])
    np.testing.assert_allclose(curves["level0/step0"], _norms(torch.autograd.grad(loss, hs)), rtol=1e-5)


def test_categorical_loss_on_token_input():
    torch.manual_seed(3)
    model = build_model(arch="rnn", cell="gru", n_in=11, n_out=11, hidden=4, token_input=True)
    ids = torch.randint(0, 11, (6, 2))
    curve = gradients.last_step_grad_norms(model, ids[:-1], ids[1:], "categorical")["level0/step0"]
    assert curve.shape == (5,) and (curve > 0).all()
    with pytest.raises(RnnlabError, match="loss"):
        gradients.last_step_grad_norms(model, ids[:-1], ids[1:], "mse")


def test_decay_per_step_recovers_a_geometric_rate():
    curve = 0.5 ** np.arange(20)[::-1]  # grows towards the loss at the last step
    assert gradients.decay_per_step(curve) == pytest.approx(0.5)
    assert gradients.decay_per_step(curve, window=5) == pytest.approx(0.5)
    assert np.isnan(gradients.decay_per_step(np.zeros(5)))
    underflow = np.concatenate([[0.0, 0.0], 0.1 ** np.arange(4)[::-1]])  # 1e-3, 1e-2, 0.1, 1 after two zeros
    assert gradients.decay_per_step(underflow, window=5) == pytest.approx(0.1)
    assert np.isnan(gradients.decay_per_step(np.array([1.0, 0.0, 1.0])))


def test_gradient_flow_draws_one_panel_per_phase_on_a_log_axis():
    curves = {"rnn/tanh": {"at init": np.array([0.0, 1e-3, 1.0]), "trained": np.array([0.1, 0.2, 1.0])},
              "rnn/lstm": {"at init": np.array([0.5, 0.7, 1.0])}}
    fig = gradients.gradient_flow(curves)
    assert [a.text for a in fig.layout.annotations] == ["at init", "trained"]
    assert fig.layout.yaxis.type == "log" == fig.layout.yaxis2.type
    first = fig.data[0]
    assert first.name == "rnn/tanh" and np.isnan(first.y[0]) and first.y[1] == pytest.approx(1e-3)
    assert [t.xaxis for t in fig.data] == ["x", "x2", "x"]
    flat = gradients.gradient_flow({"a": np.ones(4)}, log_y=False)
    assert len(flat.data) == 1 and flat.layout.yaxis.type == "linear"


@pytest.mark.parametrize("param, layer", [
    ("levels.0.cells.1.weight_hh", "level0/step1"), ("levels.2.shortcut_weight", "level2/shortcut"),
    ("output_layers.0.linear.weight", "output/layer0"), ("input_layers.1.linear.bias", "input/layer1"),
    ("readout.weight", "readout"),
])
def test_layer_of_names_parameters_like_the_recording(param, layer):
    assert gradients.layer_of(param) == layer


def _toy_music(pieces=6, steps=30, seed=0) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    make = lambda n: [(torch.rand(steps, 88, generator=generator) < 0.05).float() for _ in range(n)]
    return Dataset(name="bach-music21", source="toy random rolls", kind="music",
                   splits={"train": make(pieces), "valid": make(3), "test": make(3)}, n_in=88, n_out=88,
                   loss="bernoulli", metric="nll")


class _InitialWeights(Callback):
    def on_train_begin(self, trainer):
        self.state = {k: v.clone() for k, v in trainer.model.state_dict().items()}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    data = _toy_music()
    config = TrainConfig(dataset="bach-music21", arch="dts-rnn", cell="lstm", hidden=6, epochs=2, batch_size=2,
                         bptt=10, clip=0.5, lr=0.01, device="cpu", seed=5)
    grads, spectra, initial = GradNormRecorder(), SpectralNormRecorder(), _InitialWeights()
    trainer = Trainer(config, root=tmp_path_factory.mktemp("runs"), callbacks=[grads, spectra, initial],
                      progress=False, dataset=data)
    summary = trainer.fit()
    return {"data": data, "trainer": trainer, "summary": summary, "grads": grads, "spectra": spectra,
            "initial": initial.state}


def test_total_layer_norm_is_the_norm_the_trainer_clipped(trained_run):
    updates = pd.DataFrame(trained_run["trainer"].update_rows)
    assert updates["clipped"].all()  # clip 0.5: every update of this run is clipped
    recorded = gradients.layer_grad_norms(trained_run["grads"].rows)
    after = recorded[recorded["layer"] == "total"]
    np.testing.assert_allclose(after["grad_norm"], 0.5, rtol=1e-4)  # the recorder sees the clipped gradients
    table = gradients.layer_grad_norms(trained_run["grads"].rows, updates)
    total = table[table["layer"] == "total"].set_index("update")
    np.testing.assert_allclose(total.loc[updates["update"], "grad_norm"], updates["grad_norm"], rtol=1e-4)
    assert total["clipped"].tolist() == updates["clipped"].tolist()
    rows = pd.DataFrame(trained_run["grads"].rows)
    first = rows[(rows["update"] == 1) & rows["param"].str.startswith("levels.0.cells.1.")]
    layer = recorded[(recorded["update"] == 1) & (recorded["layer"] == "level0/step1")]["grad_norm"].item()
    assert layer == pytest.approx(float(np.sqrt((first["grad_norm"] ** 2).sum())))
    assert set(table["layer"]) == {"level0/step0", "level0/step1", "level0/shortcut", "readout", "total"}


def test_layer_norms_figure_marks_the_clip_threshold_and_every_clip_event(trained_run):
    fig = gradients.layer_norms_figure(trained_run["grads"].rows, trained_run["trainer"].update_rows)
    events = next(t for t in fig.data if t.name.startswith("clip events"))
    clipped = [r["update"] for r in trained_run["trainer"].update_rows if r["clipped"]]
    assert list(events.x) == clipped and len(clipped) > 0
    assert fig.layout.shapes[0].y0 == 0.5 == fig.layout.shapes[0].y1
    assert fig.layout.yaxis.type == "log"


def test_spectral_norms_are_the_largest_singular_values_of_the_recurrent_blocks(trained_run):
    spectra = pd.DataFrame(trained_run["spectra"].rows)
    assert sorted(spectra["epoch"].unique()) == [0, 1, 2]
    assert set(spectra["param"]) == {"levels.0.shortcut_weight", "levels.0.cells.0.weight_hh",
                                     "levels.0.cells.1.weight_hh"}
    assert spectra.groupby("epoch").size().tolist() == [12, 12, 12]  # 3 matrices × gates i, f, g, o
    initial = trained_run["initial"]["levels.0.cells.0.weight_hh"].numpy()
    forget = initial[6:12]  # torch.nn.LSTM layout: rows i, f, g, o of 6 each
    value = spectra[(spectra["epoch"] == 0) & (spectra["param"] == "levels.0.cells.0.weight_hh")
                    & (spectra["block"] == "f")]["spectral_norm"].item()
    assert value == pytest.approx(np.linalg.svd(forget, compute_uv=False)[0], rel=1e-5)
    final = trained_run["trainer"].model.state_dict()["levels.0.shortcut_weight"].numpy()[18:24]
    value = spectra[(spectra["epoch"] == 2) & (spectra["param"] == "levels.0.shortcut_weight")
                    & (spectra["block"] == "o")]["spectral_norm"].item()
    assert value == pytest.approx(np.linalg.svd(final, compute_uv=False)[0], rel=1e-5)
    fig = gradients.spectral_norms_figure(spectra)
    assert len(fig.data) == 12 and fig.layout.shapes[0].y0 == 1.0


def test_recurrent_blocks_of_gru_and_pooled_tanh():
    gru = build_model(arch="rnn", cell="gru", n_in=3, n_out=3, hidden=4)
    labels = [(n, b, tuple(m.shape)) for n, b, m in SpectralNormRecorder.recurrent_blocks(gru)]
    assert labels == [("levels.0.cells.0.weight_hh_zr", "z", (4, 4)), ("levels.0.cells.0.weight_hh_zr", "r", (4, 4)),
                      ("levels.0.cells.0.weight_hh", "", (4, 4))]
    narrow = build_model(arch="dt-rnn", cell="tanh", n_in=3, n_out=3, hidden=4, transition_hidden=2)
    shapes = [tuple(m.shape) for _, _, m in SpectralNormRecorder.recurrent_blocks(narrow)]
    assert shapes == [(2, 4), (4, 2)]


def test_run_models_rebuild_the_initial_weights_and_load_the_best(trained_run):
    run_dir = trained_run["summary"]["run_dir"]
    models = gradients.run_models(run_dir, trained_run["data"], ("init", "best", "last"))
    for name, value in models["init"].state_dict().items():
        torch.testing.assert_close(value, trained_run["initial"][name])
    best = torch.load(f"{run_dir}/checkpoints/best.pt", weights_only=False)["model"]
    for name, value in models["best"].state_dict().items():
        torch.testing.assert_close(value, best[name])
    with pytest.raises(RnnlabError, match="checkpoint"):
        gradients.run_models(run_dir, trained_run["data"], ("final",))


def test_gradient_batch_cuts_windows_from_the_split():
    data = _toy_music()
    x, y = gradients.gradient_batch(data, 12, batch_size=4, seed=1)
    assert x.shape == y.shape == (12, 4, 88)
    torch.testing.assert_close(x[1:], y[:-1])
    for b in range(4):  # every window is a slice of one valid piece
        assert any(any(torch.equal(x[:, b], piece[s:s + 12]) for s in range(len(piece) - 12))
                   for piece in data.splits["valid"])
    again, _ = gradients.gradient_batch(data, 12, batch_size=4, seed=1)
    assert torch.equal(x, again)
    joined, _ = gradients.gradient_batch(data, 50, batch_size=2)  # pieces of 30 steps: joined end to end
    assert joined.shape == (50, 2, 88)
    with pytest.raises(RnnlabError, match="too long"):
        gradients.gradient_batch(data, 500)


def test_gradient_explorer_recomputes_for_the_chosen_length_and_checkpoint():
    data = _toy_music()
    torch.manual_seed(0)
    models = {"rnn/tanh": {"init": build_model(arch="rnn", cell="tanh", n_in=88, n_out=88, hidden=5)},
              "rnn/lstm": {"init": build_model(arch="rnn", cell="lstm", n_in=88, n_out=88, hidden=5),
                           "trained": build_model(arch="rnn", cell="lstm", n_in=88, n_out=88, hidden=5)}}
    explorer = GradientExplorer(models, data, lengths=(5, 40), length=20, batch_size=2)
    assert {t.name for t in explorer.figure.data} == {"rnn/tanh", "rnn/lstm"} and len(explorer.figure.data) == 3
    explorer.length.value = 10
    assert all(len(t.x) == 10 for t in explorer.figure.data)
    x, y = gradients.gradient_batch(data, 10, 2, seed=0)
    expected = gradients.last_step_grad_norms(models["rnn/tanh"]["init"], x, y, "bernoulli")["level0/step0"]
    tanh_trace = next(t for t in explorer.figure.data if t.name == "rnn/tanh")
    np.testing.assert_allclose(tanh_trace.y, expected, rtol=1e-6)
    explorer.checkpoint.value = "trained"
    assert [t.name for t in explorer.figure.data] == ["rnn/lstm"]
