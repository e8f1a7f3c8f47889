"""Evaluating one cell on the search's tasks: random hyperparameters, a small in-memory training loop, accuracy.

Everything here runs inside a worker process (one thread) and is deterministic given its arguments: the data
come from fixed generator seeds, the hyperparameters from ``sample_hyperparameters(rng)`` and the weights from
``torch.manual_seed(setting seed)``. No run folders are written.

Scaling (Jozefowicz et al. trained ~20 random settings per task for long on GPUs; one setting here takes
about one to three seconds on one CPU thread — see ``docs/search.md``): ``PROFILES`` holds the sizes.

* model: one recurrent level of the candidate cell, ``hidden`` units (24 in the real search), token input, a
  linear read-out; plain SGD on the mean next-character cross-entropy of every position, gradient-norm clipping;
* hyperparameters drawn per setting from the paper's ranges: initial weights U(−s, s) with s = k/√hidden,
  k ~ U[0.3, 2.8]; learning rate log-uniform in [0.1, 5]; clip norm ~ U[1, 20] (the paper's 1–4 layers and its
  parameter budgets are not searched: one layer, fixed width);
* tasks (``rnnlab.data.synthetic``, scaled down): memorize 3 symbols from 6 letters (400 updates); arithmetic
  with operands of up to 3 digits (300 updates); XML with at most 6 open/close steps and depth 3, tags of ONE
  letter (250 updates; with 2–10 letter tags no cell learned to close a tag within this budget, every cell scored
  the same ≈0.44, so the task did not rank cells); minibatches of 32 whole sequences, 3000 training and 256
  validation sequences per task;
* score: accuracy of the argmax prediction on the scored positions of a fixed validation set, measured after the
  last update (a diverged run, loss not finite, scores 0).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass

import torch

from rnnlab.data.batching import iterate_batches
from rnnlab.data.synthetic import generate
from rnnlab.nets import build_model
from rnnlab.train.losses import token_losses

TASK_KNOBS = {
    "memorize": dict(n_symbols=3, alphabet_size=6),
    "arithmetic": dict(max_digits=3),
    "xml": dict(max_iterations=6, max_depth=3, min_tag_len=1, max_tag_len=1),
}
PROFILES = {
    # hidden units, minibatch, SGD updates per setting (per task), training / validation sequences, the
    # accuracy the memorization filter asks for
    "search": dict(hidden=24, batch=32, updates=dict(memorize=400, arithmetic=300, xml=250), n_train=3000,
                   n_valid=256, memorize_threshold=0.9),
    "smoke": dict(hidden=8, batch=8, updates=dict(memorize=8, arithmetic=8, xml=8), n_train=64, n_valid=16,
                  memorize_threshold=0.0),
}
LR_RANGE = (0.1, 5.0)
INIT_RANGE = (0.3, 2.8)
CLIP_RANGE = (1.0, 20.0)


@dataclass(frozen=True)
class Hyperparameters:
    lr: float
    init: float  # k: weights ~ U(-k/√hidden, k/√hidden)
    clip: float
    seed: int  # torch seed of the initial weights and the batch order

    def as_dict(self) -> dict:
        return asdict(self)


def sample_hyperparameters(rng: random.Random) -> Hyperparameters:
    """One random setting from the paper's ranges (log-uniform learning rate, uniform init scale and clip)."""
    lr = math.exp(rng.uniform(math.log(LR_RANGE[0]), math.log(LR_RANGE[1])))
    return Hyperparameters(lr=round(lr, 4), init=round(rng.uniform(*INIT_RANGE), 3),
                           clip=round(rng.uniform(*CLIP_RANGE), 2), seed=rng.randrange(2**31))


_DATA: dict = {}


def task_data(task: str, profile: str):
    """(train batches, validation batch, vocabulary size) of ``task``, built once per process."""
    key = (task, profile)
    if key not in _DATA:
        sizes = PROFILES[profile]
        ds = generate(task, seed=0, n_train=sizes["n_train"], n_valid=sizes["n_valid"], n_test=0,
                      **TASK_KNOBS[task])
        valid = next(iterate_batches(ds, "valid", batch_size=sizes["n_valid"], bptt=None, shuffle=False,
                                     bucket=False))
        _DATA[key] = (ds, valid, ds.n_in)
    return _DATA[key]


def train_setting(equations: str, task: str, hp: Hyperparameters, profile: str = "search") -> float:
    """Train a fresh model of ``equations`` on ``task`` with ``hp``; the validation accuracy (0 if it diverged)."""
    torch.set_num_threads(1)
    sizes = PROFILES[profile]
    ds, valid, vocab = task_data(task, profile)
    torch.manual_seed(hp.seed)
    model = build_model(cell="graph", equations=equations, n_in=vocab, n_out=vocab, hidden=sizes["hidden"],
                        token_input=True)
    bound = hp.init / math.sqrt(sizes["hidden"])
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-bound, bound)
        for level in model.levels:
            for cell in level.cells:
                cell.after_reset()  # lin(v, bias=b0) keeps its offset
    optimizer = torch.optim.SGD(model.parameters(), lr=hp.lr)
    updates, epoch, budget = 0, 0, sizes["updates"][task]
    while updates < budget:
        for batch in iterate_batches(ds, "train", batch_size=sizes["batch"], bptt=None, seed=hp.seed + epoch):
            logits, _ = model(batch.x)
            losses = token_losses(logits, batch.y, "categorical")
            loss = (losses * batch.mask).sum() / batch.mask.sum()
            if not torch.isfinite(loss):
                return 0.0
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), hp.clip)
            optimizer.step()
            updates += 1
            if updates >= budget:
                break
        epoch += 1
    with torch.no_grad():
        logits, _ = model(valid.x)
    if not torch.isfinite(logits).all():
        return 0.0
    hit = (logits.argmax(-1) == valid.y) & valid.score_mask
    return float(hit.sum()) / max(int(valid.score_mask.sum()), 1)


def run_job(job: dict) -> dict:
    """Evaluate one candidate as described by ``job`` (built by the search loop); runs in a worker.

    job: ``equations``, ``settings`` {task: [hyperparameter dicts]}, ``order`` (tasks in turn), ``thresholds``
    {task: minimum best accuracy to go on, or None}, ``filters`` (tasks that only gate: their settings stop at
    the first pass), ``profile``. Returns per-task best accuracies, every
    setting's score, where it stopped, and the seconds it took.
    """
    torch.set_num_threads(1)
    start = time.perf_counter()
    scores: dict[str, list[float]] = {}
    best: dict[str, float] = {}
    rejected_at = None
    for task in job["order"]:
        scores[task] = []
        threshold = job["thresholds"].get(task)
        for hp in job["settings"][task]:
            scores[task].append(round(train_setting(job["equations"], task, Hyperparameters(**hp), job["profile"]),
                                      4))
            if task in job.get("filters", ()) and threshold is not None and max(scores[task]) >= threshold:
                break  # a pure filter is passed: more settings would not change the decision
        best[task] = max(scores[task])
        if threshold is not None and best[task] < threshold:
            rejected_at = task
            break
    return dict(id=job["id"], best=best, scores=scores, rejected_at=rejected_at,
                seconds=round(time.perf_counter() - start, 2))
