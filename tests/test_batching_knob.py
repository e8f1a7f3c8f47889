"""The ``batching`` knob (issue 27): ``chunks`` (each batch row walks piece after piece, today's and the recorded
runs') or ``bucketed`` (pieces of similar length read side by side in ``bptt`` chunks), recorded in the config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnnlab.data import Dataset
from rnnlab.data.batching import iterate_batches
from rnnlab.errors import RnnlabError
from rnnlab.train import TrainConfig
from rnnlab.train.checkpoints import config_fingerprint
from rnnlab.train.runs import read_config
from tests.conftest import PROJECT_ROOT


def _tokens(lengths) -> Dataset:
    """Pieces whose token at step t of piece p is 100 * p + t, so every position can be traced back."""
    pieces = [torch.arange(n) + 100 * p for p, n in enumerate(lengths)]
    masks = {"train": [torch.arange(n) % 3 == 0 for n in lengths]}
    return Dataset(name="toy", source="test", kind="synthetic", splits={"train": pieces}, n_in=5000, n_out=5000,
                   loss="categorical", metric="accuracy", vocab=[str(i) for i in range(5000)], score_masks=masks)


LENGTHS = [1, 2, 9, 4, 30, 17, 2, 11, 25, 3, 8, 40, 12]


@pytest.mark.parametrize("batch_size, bptt", [(1, 5), (3, 4), (4, 50), (16, 7)])
def test_bucketed_batches_read_each_group_side_by_side_from_its_first_step(batch_size, bptt):
    ds = _tokens(LENGTHS)
    seen, rows = [], {}
    for batch in iterate_batches(ds, "train", batch_size=batch_size, bptt=bptt, shuffle=True, seed=4,
                                 batching="bucketed"):
        assert batch.x.shape[0] <= bptt and batch.x.shape[1] <= batch_size
        assert batch.reset.all() or not batch.reset.any()  # a group starts together
        if batch.reset.all():
            rows = {}
        for row in range(batch.x.shape[1]):
            n = int(batch.mask[:, row].sum())
            assert batch.mask[:n, row].all() and not batch.mask[n:, row].any()  # real steps first, then padding
            x, y = batch.x[:n, row].tolist(), batch.y[:n, row].tolist()
            assert y == [v + 1 for v in x]
            if x:  # the row continues its piece where the previous chunk stopped
                piece, step = divmod(x[0], 100)
                assert rows.setdefault(row, (piece, 0)) == (piece, step)
                rows[row] = (piece, step + n)
                expected_scores = [(t + 1) % 3 == 0 for t in range(step, step + n)]
                assert batch.score_mask[:n, row].tolist() == expected_scores
            seen += y
        assert (batch.x[~batch.mask] == 0).all() and not batch.score_mask[~batch.mask].any()
    expected = [100 * p + t for p, n in enumerate(LENGTHS) for t in range(1, n)]
    assert sorted(seen) == sorted(expected)  # every prediction exactly once


def _padding(ds, batching, batch_size=4, bptt=6) -> float:
    steps = real = 0
    for batch in iterate_batches(ds, "train", batch_size=batch_size, bptt=bptt, shuffle=True, seed=1,
                                 batching=batching):
        steps += batch.mask.numel()
        real += int(batch.mask.sum())
    return 1 - real / steps


def test_bucketed_batches_pad_less_and_are_deterministic_by_seed():
    ds = _tokens(LENGTHS * 4)
    assert _padding(ds, "bucketed") < _padding(ds, "chunks") / 2

    def first(seed):
        return [b.x.tolist() for b in iterate_batches(ds, "train", batch_size=4, bptt=6, seed=seed,
                                                      batching="bucketed")]

    assert first(3) == first(3) and first(3) != first(4)


def test_without_bptt_and_for_text_the_knob_changes_nothing():
    text = Dataset(name="toy", source="test", kind="text", splits={"train": [torch.arange(40), torch.arange(9)]},
                   n_in=50, n_out=50, loss="categorical", metric="bpc", vocab=[str(i) for i in range(50)])
    for ds, bptt in ((_tokens(LENGTHS), None), (text, 4), (text, None)):
        chunks = [b.x.tolist() for b in iterate_batches(ds, "train", batch_size=3, bptt=bptt, seed=2)]
        bucketed = [b.x.tolist() for b in iterate_batches(ds, "train", batch_size=3, bptt=bptt, seed=2,
                                                          batching="bucketed")]
        assert chunks == bucketed


def test_a_bad_batching_is_one_line_naming_the_choices():
    with pytest.raises(RnnlabError, match="batching.*'rows'.*chunks.*bucketed"):
        TrainConfig(batching="rows").validate()
    with pytest.raises(RnnlabError, match="batching"):
        next(iterate_batches(_tokens([5]), "train", batching="Bucketed"))


def test_records_without_the_knob_read_as_chunks_and_keep_their_fingerprint():
    """A published run recorded before the knob existed reads as ``chunks`` and its checkpoints stay its own."""
    run = Path(PROJECT_ROOT) / "results" / "pascanu2014" / "jsb" / "rnn" / "seed=0"
    assert "batching" not in json.loads((run / "config.json").read_text())
    config = read_config(run)
    assert config.batching == "chunks"
    assert config_fingerprint(config) != config_fingerprint(TrainConfig(**{**config.to_dict(),
                                                                           "batching": "bucketed"}))
    from rnnlab.train import checkpoints

    checkpoints.read(run / "checkpoints" / "best.pt", config)  # not refused as another run's


def test_a_bucketed_run_records_the_knob_and_resumes_bit_for_bit(tmp_path):
    from rnnlab.train.runs import load_metrics
    from rnnlab.train.trainer import Trainer

    knobs = dict(dataset="arithmetic", cell="gru", hidden=8, batch_size=4, bptt=5, epochs=3, patience=9,
                 max_updates_per_epoch=4, max_eval_sequences=8, optimizer="sgd", lr=0.3, seed=2, device="cpu",
                 task_knobs={"n_train": 40, "n_valid": 8, "n_test": 8, "max_digits": 2}, batching="bucketed")
    whole = Trainer(TrainConfig(**knobs), run_dir=tmp_path / "whole", progress=False).fit()
    assert read_config(tmp_path / "whole").batching == "bucketed"
    Trainer(TrainConfig(**{**knobs, "epochs": 2}), run_dir=tmp_path / "split", progress=False).fit()
    resumed = Trainer(TrainConfig(**knobs), run_dir=tmp_path / "split", resume=True, progress=False).fit()
    timing = ["epoch_seconds", "wall_seconds", "tokens_per_s"]
    a = load_metrics(tmp_path / "whole").drop(columns=timing)
    b = load_metrics(tmp_path / "split").drop(columns=timing)
    assert a.equals(b) and resumed["test"] == whole["test"]
