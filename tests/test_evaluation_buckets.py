"""Evaluation reads whole pieces in length-bucketed padded batches (issue 27) and gives the numbers of the evaluation
it replaced: the split walked at the training batch size in ``bptt`` chunks with the state carried. That evaluation
is kept here, verbatim, as the reference; text streams are still evaluated as trained."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from rnnlab.data import Dataset
from rnnlab.data.batching import iterate_batches
from rnnlab.nets import build_model
from rnnlab.train import TrainConfig
from rnnlab.train.losses import MetricTotals, PieceTotals, token_losses
from rnnlab.train.trainer import EVAL_PIECES, evaluate
from tests.conftest import PROJECT_ROOT

CPU = torch.device("cpu")
REL = 1e-6  # the tolerance the issue sets: only the float rounding of the batched sums may differ


def _reset_state_before(state, reset, batch_size):
    if state is None or state[0][0].shape[0] != batch_size:
        return None
    keep = (~reset).to(state[0][0].dtype)[:, None]
    return [tuple(s.detach() * keep for s in level) for level in state]


@torch.no_grad()
def evaluate_before(model, dataset, split, config, device) -> dict:
    """The evaluation before issue 27 (rnnlab.train.trainer.evaluate at commit 5d284b8), copied unchanged."""
    model.eval()
    totals = MetricTotals(dataset.metric)
    pieces = PieceTotals() if dataset.metric == "nll" else None
    state = None
    for batch in iterate_batches(dataset, split, batch_size=config.batch_size, bptt=config.bptt, shuffle=False,
                                 seed=config.seed, device=device):
        state = _reset_state_before(state, batch.reset, batch.x.shape[1])
        logits, state = model(batch.x, state)
        losses = token_losses(logits, batch.y, dataset.loss)
        totals.add(losses, batch.mask, logits, batch.y, batch.score_mask)
        if pieces is not None:
            pieces.add(losses, batch.mask, batch.reset)
    result = {"nats": totals.mean_nats, dataset.metric: totals.value()}
    if pieces is not None:
        result["nll_pieces"] = pieces.mean_of_piece_means()
    return result


def assert_same(new: dict, old: dict, exact: bool = False) -> None:
    assert new.keys() == old.keys()
    for key in old:
        if exact:
            assert new[key] == old[key], key
        else:
            assert new[key] == pytest.approx(old[key], rel=REL, abs=0), key


def _music(lengths, seed=0) -> Dataset:
    gen = torch.Generator().manual_seed(seed)
    pieces = [(torch.rand(n, 88, generator=gen) < 0.1).float() for n in lengths]
    return Dataset(name="toy", source="test", kind="music", splits={"train": pieces, "valid": pieces, "test": pieces},
                   n_in=88, n_out=88, loss="bernoulli", metric="nll")


# More pieces than one evaluation batch holds, of lengths that leave chunks ragged, a one-step piece (nothing to
# predict) and one exactly bptt long.
LENGTHS = [9, 23, 4, 17, 30, 2, 11, 1, 50, 6, 41, 13] * 3


@pytest.mark.parametrize("arch, cell, batch_size, bptt", [
    ("rnn", "tanh", 1, 5), ("rnn", "gru", 3, 5), ("dts-rnn", "lstm", 4, 7), ("dot-rnn", "tanh", 16, 100),
    ("srnn", "gru", 2, None), ("rnn", "lstm", 5, 50)])
def test_music_evaluation_equals_the_chunked_one(arch, cell, batch_size, bptt):
    ds = _music(LENGTHS)
    assert len(ds.splits["test"]) > EVAL_PIECES  # several evaluation batches, the last one narrower
    torch.manual_seed(1)
    model = build_model(arch=arch, cell=cell, n_in=88, n_out=88, hidden=12)
    config = TrainConfig(batch_size=batch_size, bptt=bptt, device="cpu")
    assert_same(evaluate(model, ds, "test", config, CPU), evaluate_before(model, ds, "test", config, CPU))


@pytest.mark.parametrize("steps", [1, 7, 29])
def test_a_batch_longer_than_eval_steps_is_read_in_chunks_with_the_state_carried(monkeypatch, steps):
    from rnnlab.train import trainer

    monkeypatch.setattr(trainer, "EVAL_STEPS", steps)  # memory: 1000 steps at a time, here fewer
    ds = _music(LENGTHS)
    torch.manual_seed(2)
    model = build_model(arch="dt-rnn", cell="lstm", n_in=88, n_out=88, hidden=10)
    config = TrainConfig(batch_size=2, bptt=5, device="cpu")
    assert_same(evaluate(model, ds, "test", config, CPU), evaluate_before(model, ds, "test", config, CPU))


def test_synthetic_accuracy_equals_the_chunked_one_exactly():
    from rnnlab.data import load_dataset

    ds = load_dataset("arithmetic", seed=3, n_train=8, n_valid=70, n_test=8, max_digits=3)
    torch.manual_seed(0)
    model = build_model(arch="rnn", cell="gru", n_in=ds.n_in, n_out=ds.n_out, hidden=10, token_input=True)
    config = TrainConfig(dataset="arithmetic", batch_size=4, bptt=6, device="cpu")
    new, old = evaluate(model, ds, "valid", config, CPU), evaluate_before(model, ds, "valid", config, CPU)
    assert new["accuracy"] == old["accuracy"] and 0 < old["accuracy"] < 1  # counts of correct answers: exact
    assert new["nats"] == pytest.approx(old["nats"], rel=REL, abs=0)


def test_a_text_stream_is_still_evaluated_as_trained():
    vocab = [str(i) for i in range(20)]
    gen = torch.Generator().manual_seed(0)
    lines = [torch.randint(0, 20, (n,), generator=gen) for n in (30, 7, 55, 12)]
    ds = Dataset(name="toy", source="test", kind="text", splits={"train": lines, "valid": lines, "test": lines},
                 n_in=20, n_out=20, loss="categorical", metric="bpc", vocab=vocab)
    torch.manual_seed(0)
    model = build_model(arch="rnn", cell="lstm", n_in=20, n_out=20, hidden=8, token_input=True)
    for bptt in (5, None):
        config = TrainConfig(batch_size=3, bptt=bptt, device="cpu")
        new, old = evaluate(model, ds, "valid", config, CPU), evaluate_before(model, ds, "valid", config, CPU)
        assert_same(new, old, exact=bptt is not None)  # the stream: the very same batches


# --------------------------------------------------------------------------------------------- canonical data
def _canonical(name: str):
    from rnnlab.data import load_dataset

    if not os.environ.get("RNNLAB_DATA"):
        pytest.skip("RNNLAB_DATA is not set: the canonical sets are not here")
    try:
        return load_dataset(name, seed=0)
    except Exception as err:  # noqa: BLE001 - any reason the canonical file is absent is a reason to skip
        pytest.skip(f"{name} is not available: {str(err).splitlines()[0][:120]}")


@pytest.mark.parametrize("cell, hidden, batch_size, bptt", [("tanh", 200, 1, 50), ("gru", 46, 16, 100)])
def test_jsb_evaluation_equals_the_chunked_one(cell, hidden, batch_size, bptt):
    """Pascanu's RNN 200 (batch 1, BPTT 50) and Chung's GRU 46 (batch 16, BPTT 100), on JSB's validation set."""
    ds = _canonical("jsb")
    torch.manual_seed(0)
    model = build_model(arch="rnn", cell=cell, n_in=88, n_out=88, hidden=hidden, nonlinearity="sigmoid"
                        if cell == "tanh" else "tanh", init="pascanu" if cell == "tanh" else "default")
    config = TrainConfig(dataset="jsb", batch_size=batch_size, bptt=bptt, device="cpu")
    assert_same(evaluate(model, ds, "valid", config, CPU), evaluate_before(model, ds, "valid", config, CPU))


def test_the_published_jsb_rnn_best_checkpoint_scores_its_recorded_test_nll():
    """results/: the best checkpoint of Pascanu's JSB RNN (seed 0), evaluated now, gives the test NLL its summary
    recorded with the chunked evaluation (8.357540410800665), per frame and per piece."""
    from rnnlab.train import checkpoints
    from rnnlab.train.runs import read_config
    from rnnlab.train.trainer import build_model_for

    run = Path(PROJECT_ROOT) / "results" / "pascanu2014" / "jsb" / "rnn" / "seed=0"
    ds = _canonical("jsb")
    config = read_config(run)
    model = build_model_for(config, ds)
    best = run / "checkpoints" / "best.pt"
    checkpoints.load_model_state(model, checkpoints.read(best, config, CPU), best)
    recorded = json.loads((run / "summary.json").read_text())["test"]
    assert_same(evaluate(model, ds, "test", config, CPU), recorded)
