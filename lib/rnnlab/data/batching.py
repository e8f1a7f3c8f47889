"""Minibatches with padding, masks and truncated BPTT, time-major: ``x`` and ``y`` are (T, B[, 88]).

Inputs are ``sequence[:-1]`` and targets ``sequence[1:]``. Three regimes:

- Pieces (music, synthetic) with ``bptt``, ``batching="chunks"``: Pascanu et al. 2014 §5.2 -- each piece is cut
  into consecutive chunks of at most ``bptt`` steps; batch row b keeps walking through *its* piece, so the trainer
  carries the hidden state across consecutive chunks of that piece. When a row's piece ends the rest of that chunk
  is padding, and in the next batch the row starts the next piece of the (seeded) queue with ``reset[b] = True``;
  rows with no piece left are all padding. The batch width stays ``batch_size`` until every piece is used.
  ``batching="bucketed"``: pieces of similar length form a group of ``batch_size`` (sorted by length, random
  tie-break, groups shuffled, as whole pieces below); the group is read side by side from the first step to the
  end of its longest piece in chunks of ``bptt``, ``reset`` True for every row in its first chunk. A batch is
  padded only by the length differences inside its group (JSB train, batch 16, bptt 100: 4 % of the steps are
  padding instead of 43 %); it changes which pieces share a batch, hence a knob.
- Pieces with ``bptt=None``: whole pieces, padded to the longest in the batch, ``reset`` all True. With
  ``bucket=True`` pieces of similar length share a batch (sorted by length, random tie-break, then the batches
  are shuffled), which wastes less padding. The last batch may be narrower. ``batching`` does not apply.
- Text (PTB) with ``bptt``: Mikolov/Zaremba -- the split is one token stream cut into ``batch_size`` equal
  columns; chunks of ``bptt`` steps follow each other, so the state is carried from batch to batch and ``reset``
  is True only for the first chunk. The stream order is fixed (``shuffle`` is ignored). With ``bptt=None`` text
  is batched line by line like whole pieces. ``batching`` does not apply to text.

Everything is deterministic given ``seed``. ``max_steps`` stops after that many batches (smoke runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from rnnlab.device import resolve_device
from rnnlab.data.registry import KIND_SPECS
from rnnlab.errors import RnnlabError, check_choice, check_positive

BATCHINGS = ("chunks", "bucketed")  # how pieces share a training batch with bptt (module docstring)

nll_convention = (
    "Music NLL per time step = the sum over the 88 units of -log p (natural log, independent Bernoulli outputs), "
    "averaged over all non-padding time steps of the split (every frame of every piece weighs the same; the first "
    "frame of a piece is never predicted). Text: bits per character = mean nats / ln 2, perplexity = "
    "exp(mean nats per word). Synthetic tasks: accuracy over the scored (answer) positions."
)


@dataclass
class Batch:
    """One minibatch; see the module docstring for the meaning of ``reset``."""

    x: torch.Tensor  # music: float (T, B, 88); text/synthetic: int64 (T, B)
    y: torch.Tensor  # same shape and dtype as x, shifted by one step
    mask: torch.Tensor  # bool (T, B): True at real (non-padding) positions
    score_mask: torch.Tensor  # bool (T, B): positions counted in the metric (== mask except synthetic answers)
    reset: torch.Tensor  # bool (B,): this row starts a new piece/stream -> zero its hidden state

    @property
    def n_tokens(self) -> int:
        return int(self.mask.sum())

    def to(self, device) -> Batch:
        return Batch(*(t.to(device) for t in (self.x, self.y, self.mask, self.score_mask, self.reset)))


def iterate_batches(ds, split: str, batch_size: int = 16, bptt: int | None = 50, shuffle: bool = True,
                    seed: int = 0, bucket: bool = True, max_steps: int | None = None,
                    device="cpu", batching: str = "chunks") -> Iterator[Batch]:
    """Yield :class:`Batch` es of ``ds.splits[split]`` (see the module docstring for the three regimes)."""
    check_choice("split", split, ds.splits)
    check_choice("batching", batching, BATCHINGS)
    check_positive("batch_size", batch_size)
    for name, value in (("bptt", bptt), ("max_steps", max_steps)):
        if value is not None:
            check_positive(name, value)
    if isinstance(device, str):
        device = resolve_device(device)
    sequences = ds.splits[split]
    scores = ds.score_masks[split] if ds.score_masks is not None else None
    rng = np.random.default_rng(seed)
    if KIND_SPECS[ds.kind].stream and bptt is not None:
        batches = _stream_batches(sequences, batch_size, bptt)
    elif bptt is not None and batching == "bucketed":
        batches = (batch for group in _groups(sequences, batch_size, shuffle, True, rng)
                   for batch in _group_batches(sequences, scores, group, bptt))
    elif bptt is not None:
        batches = _chunk_batches(sequences, scores, batch_size, bptt, _order(len(sequences), shuffle, rng))
    else:
        batches = _whole_batches(sequences, scores, batch_size, shuffle, bucket, rng)
    for index, batch in enumerate(batches):
        if max_steps is not None and index >= max_steps:
            return
        yield batch.to(device)


def _order(n: int, shuffle: bool, rng: np.random.Generator) -> list[int]:
    return rng.permutation(n).tolist() if shuffle else list(range(n))


def _empty(length: int, width: int, like: torch.Tensor):
    """Zero-filled x/y, all-False masks, shaped (length, width[, features]) like a sequence ``like``."""
    x = torch.zeros((length, width, *like.shape[1:]), dtype=like.dtype)
    mask = torch.zeros((length, width), dtype=torch.bool)
    return x, x.clone(), mask, mask.clone()


def _chunk_batches(sequences, scores, batch_size: int, bptt: int, order: list[int]) -> Iterator[Batch]:
    queue = [i for i in order if len(sequences[i]) >= 2]  # a piece of one step has nothing to predict
    if not queue:
        return
    queue.reverse()  # pop() from the end takes pieces in order
    current = [None] * batch_size  # (piece index, next start) per row
    while True:
        reset = torch.zeros(batch_size, dtype=torch.bool)
        for row in range(batch_size):
            if current[row] is None and queue:
                current[row] = (queue.pop(), 0)
                reset[row] = True
        if all(c is None for c in current):
            return
        spans = []
        for row, state in enumerate(current):
            if state is None:
                reset[row] = True
                spans.append(None)
                continue
            piece, start = state
            stop = min(start + bptt, len(sequences[piece]) - 1)
            spans.append((piece, start, stop))
            current[row] = (piece, stop) if stop < len(sequences[piece]) - 1 else None
        active = [span for span in spans if span is not None]
        length = max(stop - start for _, start, stop in active)
        x, y, mask, score_mask = _empty(length, batch_size, sequences[active[0][0]])
        for row, span in enumerate(spans):
            if span is None:
                continue
            piece, start, stop = span
            n = stop - start
            sequence = sequences[piece]
            x[:n, row] = sequence[start:stop]
            y[:n, row] = sequence[start + 1:stop + 1]
            mask[:n, row] = True
            score_mask[:n, row] = scores[piece][start + 1:stop + 1] if scores is not None else True
        yield Batch(x, y, mask, score_mask, reset)


def _groups(sequences, batch_size: int, shuffle: bool, bucket: bool, rng: np.random.Generator) -> list[list[int]]:
    """The pieces (of two steps or more) in groups of ``batch_size``: by length (random tie-break, groups shuffled)
    when ``bucket``, else in the (shuffled) order of the split."""
    usable = [i for i in range(len(sequences)) if len(sequences[i]) >= 2]
    if bucket:
        tie_break = rng.permutation(len(usable)) if shuffle else np.arange(len(usable))
        usable = [usable[j] for j in sorted(range(len(usable)), key=lambda j: (len(sequences[usable[j]]),
                                                                                tie_break[j]))]
        groups = [usable[k:k + batch_size] for k in range(0, len(usable), batch_size)]
        if shuffle:
            groups = [groups[j] for j in rng.permutation(len(groups))]
    else:
        if shuffle:
            usable = [usable[j] for j in rng.permutation(len(usable))]
        groups = [usable[k:k + batch_size] for k in range(0, len(usable), batch_size)]
    return groups


def _whole_batches(sequences, scores, batch_size: int, shuffle: bool, bucket: bool,
                   rng: np.random.Generator) -> Iterator[Batch]:
    for group in _groups(sequences, batch_size, shuffle, bucket, rng):
        yield from _group_batches(sequences, scores, group, None)


def _group_batches(sequences, scores, group: list[int], bptt: int | None) -> Iterator[Batch]:
    """One group of pieces read side by side from their first step, padded to the longest, in chunks of ``bptt``
    steps (None: one chunk); ``reset`` is True for every row in the first chunk only."""
    longest = max(len(sequences[i]) for i in group) - 1
    step = bptt or longest
    for start in range(0, longest, step):
        length = min(step, longest - start)
        x, y, mask, score_mask = _empty(length, len(group), sequences[group[0]])
        for row, piece in enumerate(group):
            sequence = sequences[piece]
            n = min(len(sequence) - 1 - start, length)
            if n <= 0:
                continue
            x[:n, row], y[:n, row], mask[:n, row] = sequence[start:start + n], sequence[start + 1:start + 1 + n], True
            score_mask[:n, row] = scores[piece][start + 1:start + 1 + n] if scores is not None else True
        yield Batch(x, y, mask, score_mask, torch.full((len(group),), start == 0, dtype=torch.bool))


def _stream_batches(sequences, batch_size: int, bptt: int) -> Iterator[Batch]:
    stream = torch.cat(list(sequences)) if len(sequences) else torch.zeros(0, dtype=torch.long)
    columns = len(stream) // batch_size
    if columns < 2:
        raise RnnlabError(f"the split has {len(stream)} tokens, too few for batch_size {batch_size}; use a smaller "
                          "batch_size")
    data = stream[:columns * batch_size].view(batch_size, columns).t()  # (columns, B): column b is stream part b
    for start in range(0, columns - 1, bptt):
        n = min(bptt, columns - 1 - start)
        mask = torch.ones((n, batch_size), dtype=torch.bool)
        reset = torch.full((batch_size,), start == 0, dtype=torch.bool)
        yield Batch(data[start:start + n], data[start + 1:start + 1 + n], mask, mask.clone(), reset)
