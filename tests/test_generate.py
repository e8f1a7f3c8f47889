"""Sampling and scoring music (rnnlab.generate) and their figures (rnnlab.viz.predictions).

Most tests use small hand-made models with the nets' calling convention ``model(x, state) -> (logits, state)`` so
the expected answer is known exactly; the last ones run a real rnnlab model through the trainer's evaluation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.generate import frame_probabilities, sample_music, step_log_likelihood
from rnnlab.viz.datasets import note_name
from rnnlab.viz.predictions import likelihood_figure, pitch_window, prediction_roll


class TinyGRUModel(torch.nn.Module):
    """A stand-in music model: torch.nn.GRU + linear read-out, (T, B, 88) -> logits (T, B, 88)."""

    def __init__(self, hidden=12, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.rnn = torch.nn.GRU(88, hidden)
        self.out = torch.nn.Linear(hidden, 88)

    def forward(self, x, state=None):
        h, last = self.rnn(x, state)
        return self.out(h), last


class ConstantModel(torch.nn.Module):
    """Ignores its input: every key has the same logit ``a`` at every step."""

    def __init__(self, logit):
        super().__init__()
        self.logit = torch.nn.Parameter(torch.tensor(float(logit)))

    def forward(self, x, state=None):
        return self.logit.expand(*x.shape[:2], 88), state


class EchoModel(torch.nn.Module):
    """Predicts that the next frame repeats the current one (logit +20 for a sounding key, −20 otherwise)."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(20.0))

    def forward(self, x, state=None):
        return self.scale * (2 * x - 1), state


def random_piece(steps=30, seed=1):
    generator = torch.Generator().manual_seed(seed)
    roll = torch.zeros(steps, 88)
    roll[:, 30:50] = (torch.rand(steps, 20, generator=generator) < 0.2).float()
    return roll


def test_step_log_likelihood_is_the_bernoulli_log_probability():
    model = TinyGRUModel()
    piece = random_piece()
    logp = step_log_likelihood(model, piece)
    with torch.no_grad():
        logits, _ = model(piece[:-1, None, :])
    p = torch.sigmoid(logits[:, 0].double())
    x = piece[1:].double()
    expected = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(-1)
    assert logp.shape == (len(piece) - 1,)
    assert torch.allclose(logp.double(), expected, atol=1e-4)
    assert torch.allclose(frame_probabilities(model, piece).double(), p, atol=1e-6)


def test_probabilities_carry_the_state_like_one_step_at_a_time():
    model = TinyGRUModel()
    piece = random_piece(12)
    state, rows = None, []
    with torch.no_grad():
        for t in range(len(piece) - 1):
            logits, state = model(piece[t:t + 1, None, :], state)
            rows.append(torch.sigmoid(logits[0, 0]))
    assert torch.allclose(frame_probabilities(model, piece), torch.stack(rows), atol=1e-6)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_temperature_divides_the_logits(temperature):
    logit = 0.8
    roll = sample_music(ConstantModel(logit), steps=400, temperature=temperature, seed=3)
    p = 1 / (1 + math.exp(-logit / temperature))
    n = roll.numel()
    assert abs(roll.mean().item() - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_greedy_sampling_after_a_prime_continues_the_last_frame():
    prime = random_piece(6)
    roll = sample_music(EchoModel(), steps=5, temperature=0, prime=prime)
    assert roll.shape == (11, 88)
    assert torch.equal(roll[:6], prime)
    assert torch.equal(roll[6:], prime[-1].expand(5, 88))


def test_sampling_is_repeatable_by_seed_and_leaves_the_model_mode_alone():
    model = TinyGRUModel().train()
    a = sample_music(model, steps=20, seed=5)
    b = sample_music(model, steps=20, seed=5)
    c = sample_music(model, steps=20, seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert model.training


@pytest.mark.parametrize("call, message", [
    (lambda m: sample_music(m, steps=5, temperature=-1), "temperature must be a number >= 0"),
    (lambda m: sample_music(m, steps=0), "steps must be an integer >= 1, got 0"),
    (lambda m: sample_music(m, steps=3, prime=torch.zeros(4, 12)), r"prime must be a \(T, 88\) piano roll"),
    (lambda m: step_log_likelihood(m, torch.zeros(1, 88)), "at least 2 frames"),
])
def test_bad_input_is_one_clear_line(call, message):
    with pytest.raises(RnnlabError, match=message):
        call(TinyGRUModel())


def test_prediction_roll_shows_the_probabilities_and_the_real_notes():
    piece = random_piece(20)
    probs = frame_probabilities(TinyGRUModel(), piece)
    fig = prediction_roll(piece[1:], probs)
    lo, hi = pitch_window(piece[1:], probs)
    truth_map, prob_map, notes = fig.data
    assert np.allclose(np.asarray(prob_map.z), probs[:, lo:hi].numpy().T)
    assert np.array_equal(np.asarray(truth_map.z), piece[1:, lo:hi].numpy().T)
    assert len(notes.x) == int(piece[1:].sum())
    assert list(prob_map.y) == [note_name(21 + j) for j in range(lo, hi)]
    assert note_name(60) == "C4" and note_name(21) == "A0" and note_name(108) == "C8"


def test_likelihood_figure_plots_minus_log_p_and_its_mean():
    piece = random_piece(15)
    logp = step_log_likelihood(TinyGRUModel(), piece)
    fig = likelihood_figure(piece, {"gru": logp})
    line, mean = fig.data[1], fig.data[2]
    assert np.allclose(line.y, -logp.numpy())
    assert np.allclose(mean.y, -logp.mean().item())
    with pytest.raises(RnnlabError, match="expected 14"):
        likelihood_figure(piece, {"bad": logp[:-1]})


# --------------------------------------------------------------------------- with rnnlab models and runs
def test_piece_nll_equals_the_trainers_evaluation(tmp_path):
    nets = pytest.importorskip("rnnlab.nets", reason="rnnlab.nets not importable")
    from rnnlab.data.dataset import Dataset
    from rnnlab.train.config import TrainConfig
    from rnnlab.train.trainer import evaluate

    torch.manual_seed(0)
    model = nets.build_model(arch="dts-rnn", cell="gru", n_in=88, n_out=88, hidden=10)
    pieces = [random_piece(23, seed=s) for s in (1, 2)]
    ds = Dataset(name="toy", source="test", kind="music", splits={"train": [], "valid": pieces, "test": []},
                 n_in=88, n_out=88, loss="bernoulli", metric="nll")
    nll = evaluate(model, ds, "valid", TrainConfig(batch_size=2, bptt=7), "cpu")["nll"]
    ours = torch.cat([-step_log_likelihood(model, p) for p in pieces]).mean().item()
    assert ours == pytest.approx(nll, rel=1e-5)


def test_a_finished_run_reloads_and_generates(tmp_path):
    pytest.importorskip("rnnlab.nets", reason="rnnlab.nets not importable")
    from rnnlab.data.dataset import Dataset
    from rnnlab.train.config import TrainConfig
    from rnnlab.train.trained import load_trained_model
    from rnnlab.train.trainer import Trainer

    pieces = [random_piece(25, seed=s) for s in range(6)]
    ds = Dataset(name="bach-music21", source="test", kind="music", n_in=88, n_out=88, loss="bernoulli",
                 metric="nll", splits={"train": pieces[:4], "valid": pieces[4:5], "test": pieces[5:]})
    config = TrainConfig(dataset="bach-music21", arch="rnn", cell="gru", hidden=8, epochs=1, batch_size=2, bptt=10)
    trainer = Trainer(config, root=tmp_path, dataset=ds, progress=False)
    trainer.fit()
    model, loaded_config = load_trained_model(trainer.run_dir)
    assert loaded_config == config
    assert torch.allclose(step_log_likelihood(model, pieces[0]), step_log_likelihood(trainer.model, pieces[0]))
    assert sample_music(model, steps=4, prime=pieces[0][:3]).shape == (7, 88)
    with pytest.raises(RnnlabError, match="no config.json"):
        load_trained_model(tmp_path)


def test_prediction_roll_stacks_one_panel_per_model():
    piece = random_piece(20)
    probs = {name: frame_probabilities(TinyGRUModel(seed=seed), piece) for name, seed in (("a", 0), ("b", 1))}
    fig = prediction_roll(piece[1:], probs)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert [t.name for t in heatmaps] == ["truth", "a", "b"]
    lo, hi = pitch_window(piece[1:], *probs.values())
    assert np.allclose(np.asarray(heatmaps[2].z), probs["b"][:, lo:hi].numpy().T)


def test_pick_music_run_takes_the_lowest_nll_on_the_same_data():
    import pandas as pd

    from rnnlab.data import data_family
    from rnnlab.generate import pick_music_run

    stand_in = "music21 stand-in (bach-music21): 390 chorales from music21 10.5.1, cache x.npz"
    runs = pd.DataFrame([
        {"run_dir": "a", "dataset": "nottingham", "data_source": "canonical:/d/Nottingham.mat", "status": "ok",
         "test_nll": 3.0},
        {"run_dir": "b", "dataset": "jsb", "data_source": "canonical:/d/JSB Chorales.pickle", "status": "ok",
         "test_nll": 8.5},
        {"run_dir": "c", "dataset": "jsb", "data_source": stand_in + " -- fallback for jsb", "status": "ok",
         "test_nll": 9.4},
        {"run_dir": "d", "dataset": "bach-music21", "data_source": stand_in, "status": "ok", "test_nll": 9.2},
        {"run_dir": "e", "dataset": "bach-music21", "data_source": stand_in, "status": "diverged",
         "test_nll": float("nan")},
        {"run_dir": "f", "dataset": "ptb-char", "data_source": "canonical:/d/ptb", "status": "ok", "test_nll": 1.0},
        {"run_dir": "g", "dataset": "jsb", "data_source": "canonical jsb (polyphonic/JSB Chorales.pickle)",
         "status": "ok", "test_nll": 8.4},  # a record that names no machine: the same family as b's old text
    ])
    assert pick_music_run(runs) == "a"
    fallback = {"dataset": "jsb", "data_source": stand_in + " -- fallback for jsb"}
    assert data_family(fallback) == data_family({"dataset": "bach-music21", "data_source": stand_in})
    assert pick_music_run(runs, data_family({"dataset": "bach-music21", "data_source": stand_in})) == "d"
    assert pick_music_run(runs, "canonical jsb") == "g"
    assert pick_music_run(runs[runs.run_dir != "g"], "canonical jsb") == "b"
    assert pick_music_run(runs, "canonical musedata") is None
    assert pick_music_run(pd.DataFrame()) is None
