"""Batching: chunks that carry state within a piece, whole padded pieces, Mikolov's token stream, masks, seeds."""

from __future__ import annotations

import pytest
import torch

from rnnlab.data import Dataset, load_dataset
from rnnlab.data.batching import iterate_batches, nll_convention
from rnnlab.errors import RnnlabError


def _tokens(lengths, kind="synthetic"):
    """Pieces whose token at step t of piece p is 100 * p + t, so every position can be traced back."""
    pieces = [torch.arange(n) + 100 * p for p, n in enumerate(lengths)]
    masks = {"train": [torch.ones(n, dtype=torch.bool) for n in lengths]} if kind == "synthetic" else None
    return Dataset(name="toy", source="test", kind=kind, splits={"train": pieces}, n_in=1000, n_out=1000,
                   loss="categorical", metric="accuracy", vocab=[str(i) for i in range(1000)], score_masks=masks)


def _column(batch, row):
    n = int(batch.mask[:, row].sum())
    return batch.x[:n, row].tolist(), batch.y[:n, row].tolist()


def test_chunks_walk_each_row_through_its_piece_and_reset_at_a_new_one():
    # Pieces A (5 steps), B (3), C (7); batch_size 2, bptt 2, no shuffle. Worked out by hand:
    batches = list(iterate_batches(_tokens([5, 3, 7]), "train", batch_size=2, bptt=2, shuffle=False))
    expected = [  # per batch: (row 0 x, row 1 x, reset)
        ([0, 1], [100, 101], [True, True]),  # A[0:2], B[0:2]; B is then used up
        ([2, 3], [200, 201], [False, True]),  # A continues; row 1 starts C
        ([], [202, 203], [True, False]),  # nothing left for row 0; C continues
        ([], [204, 205], [True, False]),
    ]
    assert len(batches) == len(expected)
    for batch, (x0, x1, reset) in zip(batches, expected, strict=True):
        assert _column(batch, 0) == (x0, [v + 1 for v in x0])
        assert _column(batch, 1) == (x1, [v + 1 for v in x1])
        assert batch.reset.tolist() == reset
        assert batch.x.shape == batch.y.shape == batch.mask.shape == (2, 2)
        assert torch.equal(batch.score_mask, batch.mask) and batch.n_tokens == len(x0) + len(x1)


@pytest.mark.parametrize("bptt", [1, 3, 50])
def test_chunks_cover_every_prediction_exactly_once(bptt):
    lengths = [1, 2, 9, 4, 30, 17, 2, 11]
    ds = _tokens(lengths)
    seen = []
    for batch in iterate_batches(ds, "train", batch_size=3, bptt=bptt, shuffle=True, seed=5):
        assert batch.x.shape[0] <= bptt
        seen += batch.y[batch.mask].tolist()
        assert (batch.x[~batch.mask] == 0).all() and (batch.y[~batch.mask] == 0).all()  # padding is zero
    expected = [100 * p + t for p, n in enumerate(lengths) for t in range(1, n)]
    assert sorted(seen) == sorted(expected)


def test_whole_pieces_are_padded_masked_and_bucketed():
    lengths = [3, 40, 5, 41, 4, 39, 6, 42]
    ds = _tokens(lengths)
    batches = list(iterate_batches(ds, "train", batch_size=4, bptt=None, shuffle=True, seed=0, bucket=True))
    assert len(batches) == 2 and all(b.reset.all() for b in batches)
    widths = sorted(sorted(int(n) for n in b.mask.sum(0)) for b in batches)
    assert widths == [[2, 3, 4, 5], [38, 39, 40, 41]]  # similar lengths share a batch
    for batch in batches:
        for row in range(batch.x.shape[1]):
            x, y = _column(batch, row)
            piece = x[0] // 100
            assert x == list(range(100 * piece, 100 * piece + lengths[piece] - 1)) and y == [v + 1 for v in x]


def test_shuffling_is_deterministic_by_seed():
    ds = _tokens([5, 6, 7, 8, 9, 10, 11, 12])

    def order(seed):
        return [b.x[0].tolist() for b in iterate_batches(ds, "train", batch_size=2, bptt=None, seed=seed,
                                                           bucket=False)]

    assert order(1) == order(1) and order(1) != order(2)


def test_text_is_one_stream_in_columns_with_state_carried():
    lines = [torch.arange(0, 7), torch.arange(7, 12), torch.arange(12, 21)]  # one stream 0..20
    ds = _tokens([1])
    ds.kind, ds.splits, ds.score_masks = "text", {"train": lines}, None
    batches = list(iterate_batches(ds, "train", batch_size=2, bptt=4))
    # 21 tokens -> 2 columns of 10: column 0 = 0..9, column 1 = 10..19; targets shifted by one.
    assert [b.x[:, 0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]
    assert [b.y[:, 1].tolist() for b in batches] == [[11, 12, 13, 14], [15, 16, 17, 18], [19]]
    assert [b.reset.tolist() for b in batches] == [[True, True], [False, False], [False, False]]
    assert all(b.mask.all() and torch.equal(b.mask, b.score_mask) for b in batches)


def test_synthetic_score_mask_marks_answer_targets_only():
    ds = load_dataset("arithmetic", n_train=20, n_valid=1, n_test=1)
    for batch in iterate_batches(ds, "train", batch_size=8, bptt=None):
        for row in range(batch.x.shape[1]):
            targets = ds.decode(batch.y[batch.score_mask[:, row], row])
            full = ds.decode(batch.y[batch.mask[:, row], row])
            assert targets == full.split("=")[1] and targets.endswith(".")
        assert not (batch.score_mask & ~batch.mask).any()


def test_music_batches_are_float_time_major():
    rolls = [torch.zeros(n, 88) for n in (6, 9)]
    rolls[0][:, 10] = 1
    ds = Dataset(name="m", source="test", kind="music", splits={"train": rolls}, n_in=88, n_out=88,
                 loss="bernoulli", metric="nll")
    batch = next(iterate_batches(ds, "train", batch_size=2, bptt=4, shuffle=False))
    assert batch.x.dtype == torch.float32 and batch.x.shape == (4, 2, 88) and batch.y[:, 0, 10].eq(1).all()


def test_max_steps_stops_early():
    ds = _tokens([10] * 8)
    assert len(list(iterate_batches(ds, "train", batch_size=2, bptt=3, max_steps=2))) == 2


@pytest.mark.parametrize("kwargs, words", [
    ({"split": "dev"}, "unknown split 'dev'"), ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"bptt": -1}, "bptt must be an integer >= 1"),
])
def test_bad_arguments_are_one_line(kwargs, words):
    arguments = {"split": "train", **kwargs}
    with pytest.raises(RnnlabError, match=words):
        next(iterate_batches(_tokens([4]), **arguments))


def test_nll_convention_is_stated():
    assert "sum over the 88 units" in nll_convention and "averaged over all non-padding time steps" in nll_convention
