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
