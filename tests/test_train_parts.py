"""Schedules, weight noise, losses and metrics against literal transcriptions of the papers' formulas."""

from __future__ import annotations

import math

import pytest
import torch

from rnnlab.train.losses import MetricTotals, metric_from_nats, token_losses
from rnnlab.train.regularizers import weight_noise
from rnnlab.train.schedules import Schedule


def test_pascanu_schedule_is_constant_until_validation_rises_then_decays_as_footnote_1():
    schedule = Schedule("pascanu", base_lr=1.0, beta=100)
    assert schedule.lr(500) == 1.0
    schedule.end_epoch(5.0, updates=50)
    schedule.end_epoch(4.0, updates=100)
    assert schedule.lr(150) == 1.0  # still improving
    schedule.end_epoch(4.5, updates=150)  # first rise: tau_0 = 150
    for tau in (150, 200, 400, 1000):
        assert schedule.lr(tau) == pytest.approx(1.0 / (1.0 + max(0, tau - 150) / 100))
    schedule.end_epoch(4.9, updates=200)  # later rises do not move tau_0
    assert schedule.tau0 == 150


def test_jozefowicz_halving_after_three_bad_epochs_then_four_halvings_and_stop():
    schedule = Schedule("halving", base_lr=1.0)
    history = [5.0, 4.0, 4.1, 4.2, 4.3]  # three epochs without improvement after the best (4.0)
    stops = [schedule.end_epoch(v, updates=i) for i, v in enumerate(history)]
    assert not any(stops) and schedule.lr(0) == 1.0
    lrs, stops = [], []
    for _ in range(5):
        stops.append(schedule.end_epoch(4.5, updates=0))
        lrs.append(schedule.lr(0))
    assert lrs[:4] == [0.5, 0.25, 0.125, 0.0625]
    assert stops == [False, False, False, False, True]


def test_plateau_halves_when_validation_does_not_decrease_significantly():
    schedule = Schedule("plateau", base_lr=2.0)
    schedule.end_epoch(100.0, updates=1)
    schedule.end_epoch(90.0, updates=2)
    assert schedule.lr(0) == 2.0
    schedule.end_epoch(89.99, updates=3)
    assert schedule.lr(0) == 1.0


def test_weight_noise_perturbs_weights_only_inside_and_gradient_is_taken_at_the_noisy_point():
    torch.manual_seed(0)
    layer = torch.nn.Linear(5, 3)
    clean_w, clean_b = layer.weight.detach().clone(), layer.bias.detach().clone()
    x = torch.randn(7, 5)
    torch.manual_seed(1)
    with weight_noise(layer, 0.075):
        noisy_w = layer.weight.detach().clone()
        assert torch.equal(layer.bias, clean_b)
        (layer(x) ** 2).sum().backward()
    assert torch.equal(layer.weight, clean_w)
    delta = noisy_w - clean_w
    assert 0.03 < float(delta.std()) < 0.15
    expected = 2 * (x @ noisy_w.t() + clean_b).t() @ x
    torch.testing.assert_close(layer.weight.grad, expected)


def test_bernoulli_nll_is_the_sum_over_units_of_minus_log_p():
    logits = torch.tensor([[[0.3, -1.2, 2.0]]])
    targets = torch.tensor([[[1.0, 0.0, 1.0]]])
    p = torch.sigmoid(logits)
    literal = -(targets * p.log() + (1 - targets) * (1 - p).log()).sum()
    assert float(token_losses(logits, targets, "bernoulli")[0, 0]) == pytest.approx(float(literal), rel=1e-6)


def test_nll_is_averaged_over_non_padding_time_steps_only():
    losses = torch.tensor([[1.0, 100.0], [3.0, 100.0]])
    mask = torch.tensor([[True, False], [True, False]])
    totals = MetricTotals("nll")
    totals.add(losses, mask)
    assert totals.value() == 2.0


def test_bpc_and_perplexity_conversions():
    assert metric_from_nats(math.log(2), "bpc") == pytest.approx(1.0)
    assert metric_from_nats(math.log(117.7), "ppl") == pytest.approx(117.7)


def test_accuracy_counts_only_scored_positions():
    logits = torch.tensor([[[0.0, 5.0], [5.0, 0.0]]])  # predicts 1, 0
    targets = torch.tensor([[1, 1]])
    totals = MetricTotals("accuracy")
    totals.add(torch.zeros(1, 2), torch.ones(1, 2, dtype=torch.bool), logits, targets,
               torch.tensor([[True, False]]))
    assert totals.value() == 1.0


# ------------------------------------------------------------------ issue 11: both NLL conventions, tau_0, pretraining
def test_per_piece_nll_equals_the_mean_of_whole_piece_means_and_frames_the_pooled_mean():
    """evaluate() walks pieces in BPTT chunks across batch rows; compare with each piece run whole, by hand."""
    import torch

    from rnnlab.data.dataset import Dataset
    from rnnlab.nets import build_model
    from rnnlab.train import TrainConfig
    from rnnlab.train.trainer import evaluate

    gen = torch.Generator().manual_seed(0)
    pieces = [(torch.rand(n, 88, generator=gen) < 0.1).float() for n in (9, 23, 4, 17, 30, 2, 11)]
    ds = Dataset(name="toy", source="test", kind="music", splits={"train": pieces, "valid": pieces, "test": pieces},
                 n_in=88, n_out=88, loss="bernoulli", metric="nll")
    torch.manual_seed(1)
    model = build_model(arch="rnn", cell="gru", n_in=88, n_out=88, hidden=6).eval()
    config = TrainConfig(batch_size=3, bptt=5, device="cpu")
    got = evaluate(model, ds, "test", config, torch.device("cpu"))
    sums, frames = [], []
    with torch.no_grad():
        for piece in pieces:
            logits, _ = model(piece[:-1, None, :])
            nll = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], piece[1:], reduction="none")
            sums.append(float(nll.sum()))
            frames.append(len(piece) - 1)
    assert abs(got["nll"] - sum(sums) / sum(frames)) < 1e-5
    assert abs(got["nll_pieces"] - sum(s / f for s, f in zip(sums, frames, strict=True)) / len(pieces)) < 1e-5
    assert abs(got["nll"] - got["nll_pieces"]) > 1e-3  # the two conventions really differ here


def test_pascanu_decay_start_literal_and_with_patience():
    """tau_0: literal = first rise over the previous epoch; with patience k = k epochs without a new best."""
    from rnnlab.train.schedules import Schedule

    valid = [5.0, 4.0, 4.01, 3.9, 3.95, 3.96, 3.97]  # a blip at epoch 3, a real stall from epoch 5
    literal, patient = Schedule("pascanu", 1.0, beta=10), Schedule("pascanu", 1.0, beta=10, start_patience=2)
    for epoch, value in enumerate(valid, start=1):
        literal.end_epoch(value, updates=100 * epoch)
        patient.end_epoch(value, updates=100 * epoch)
    assert literal.tau0 == 300 and patient.tau0 == 600
    assert patient.lr(600) == 1.0 and abs(patient.lr(620) - 1.0 / (1.0 + 20 / 10)) < 1e-12


def test_pretraining_copies_same_role_parameters_and_scales_their_learning_rate(tmp_path):
    import torch

    from rnnlab.errors import RnnlabError
    from rnnlab.train import TrainConfig
    from rnnlab.train.trainer import Trainer

    small = dict(dataset="arithmetic", cell="tanh", hidden=8, batch_size=4, bptt=None, epochs=1, optimizer="sgd",
                 lr=0.5, max_updates_per_epoch=3, max_eval_sequences=8, device="cpu",
                 task_knobs={"n_train": 32, "n_valid": 8, "n_test": 8, "max_digits": 2})
    parent = Trainer(TrainConfig(arch="rnn", **small), run_dir=tmp_path / "rnn", progress=False)
    parent.fit()
    best = torch.load(tmp_path / "rnn" / "checkpoints" / "best.pt", weights_only=True)["model"]
    child = Trainer(TrainConfig(arch="srnn", init_from=str(tmp_path / "rnn"), pretrained_lr_scale=0.1, seed=5,
                                **small), run_dir=tmp_path / "srnn", progress=False)
    assert sorted(child.pretrained) == sorted(n for n in best if n.startswith("levels.0.") or n.startswith("readout"))
    params = dict(child.model.named_parameters())
    for name in child.pretrained:
        assert torch.equal(params[name], best[name])
    assert not torch.equal(params["levels.1.cells.0.weight_hh"], params["levels.0.cells.0.weight_hh"])
    rates = sorted(g["lr"] for g in child.optimizer.param_groups)
    assert rates == [0.05, 0.5]
    child.close()
    dots = Trainer(TrainConfig(arch="dots-rnn", init_from=str(tmp_path / "rnn"), **small), run_dir=tmp_path / "d",
                   progress=False)
    assert not any(n.startswith("readout") for n in dots.pretrained)  # DOT(S) reads out from its deep output
    dots.close()
    with pytest.raises(RnnlabError, match="pretrained_lr_scale.*does not apply without init_from"):
        TrainConfig(pretrained_lr_scale=0.1).validate()
    with pytest.raises(RnnlabError, match="not a finished run folder"):
        Trainer(TrainConfig(arch="srnn", init_from=str(tmp_path / "nothing"), **small), run_dir=tmp_path / "n",
                progress=False)
    assert not (tmp_path / "n").exists()
    with pytest.raises(RnnlabError, match="shares no weight matrix"):
        Trainer(TrainConfig(arch="rnn", init_from=str(tmp_path / "rnn"), **{**small, "hidden": 5}),
                run_dir=tmp_path / "x", progress=False)


def test_data_fingerprint_tells_identical_data_from_different_data():
    from rnnlab.data import load_dataset

    knobs = {"n_train": 8, "n_valid": 4, "n_test": 4}
    a, b = load_dataset("arithmetic", seed=0, **knobs), load_dataset("arithmetic", seed=0, **knobs)
    assert a.content_sha256() == b.content_sha256()
    assert load_dataset("arithmetic", seed=1, **knobs).content_sha256() != a.content_sha256()
    b.splits["test"][0] = b.splits["test"][0].clone()
    b.splits["test"][0][-1] = (b.splits["test"][0][-1] + 1) % 10
    assert a.content_sha256() != b.content_sha256()
