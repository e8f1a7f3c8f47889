"""The synthetic tasks of Jozefowicz, Zaremba & Sutskever 2015 (docs/papers.md §3.6), generated from a seed.

All three are next-character prediction with teacher forcing; the metric is accuracy over the *scored* positions.

- ``arithmetic``: ``a±b=`` followed by the answer, e.g. ``3e36d9-h1h39f94eeh43keg3c=-13991064.`` for
  3369 - 13994433 = -13991064. Each operand has 1..``max_digits`` digits (the count uniform, then the value uniform
  among numbers with that many digits). Between successive input characters (also before ``=``) a geometric number
  of random lowercase distractor letters is inserted: another letter follows with probability
  ``distractor_rate`` (mean rate/(1-rate) letters per gap; 0.3 is the third-party generator's choice, the paper
  gives none). The answer may be negative; with ``signed_operands`` the operands may be too. Scored: the answer
  characters and the end marker ``.``.
- ``xml``: tags of 2..10 random lowercase letters; each iteration closes the most recently opened tag with
  probability ``close_prob`` (or always once ``max_iterations`` iterations have passed or ``max_depth`` tags are
  open) -- stopping instead when no tag is open -- and otherwise opens a new tag. Unlike the paper's literal
  recipe the first iteration always opens a tag, so no document is empty. Scored: every position.
- ``memorize``: ``n_symbols`` symbols drawn with replacement from the first ``alphabet_size`` letters, ``=``, then
  the same symbols again (the first filter of the architecture search). Scored: the reproduced symbols.

Each split is generated from its own stream (``random.Random("task/split/seed")``), so the validation and test
sets do not change when ``n_train`` does.
"""

from __future__ import annotations

import random
import string

import torch

from rnnlab.data.dataset import SPLITS, Dataset
from rnnlab.data.registry import Provenance
from rnnlab.errors import RnnlabError, check_positive

LETTERS = string.ascii_lowercase
END = "."  # end of an arithmetic answer


def arithmetic_example(rng: random.Random, max_digits: int = 8, distractor_rate: float = 0.3,
                       signed_operands: bool = False) -> tuple[str, list[bool]]:
    """One arithmetic example and its score flags (one per character)."""

    def operand() -> int:
        digits = rng.randint(1, max_digits)
        value = rng.randint(10 ** (digits - 1) if digits > 1 else 0, 10**digits - 1)
        return -value if signed_operands and rng.random() < 0.5 else value

    a, b, op = operand(), operand(), rng.choice("+-")
    answer = a + b if op == "+" else a - b
    question = f"{a}{op}{b}="
    chars = [question[0]]
    for char in question[1:]:
        while rng.random() < distractor_rate:
            chars.append(rng.choice(LETTERS))
        chars.append(char)
    prompt = "".join(chars)
    reply = f"{answer}{END}"
    return prompt + reply, [False] * len(prompt) + [True] * len(reply)


def xml_example(rng: random.Random, close_prob: float = 0.5, max_iterations: int = 50, max_depth: int | None = None,
                min_tag_len: int = 2, max_tag_len: int = 10) -> tuple[str, list[bool]]:
    """One synthetic XML document (never empty) and its score flags (all True)."""
    open_tags: list[str] = []
    parts = []
    iteration = 0
    while True:
        must_close = iteration >= max_iterations or (max_depth is not None and len(open_tags) >= max_depth)
        if iteration > 0 and (must_close or rng.random() < close_prob):
            if not open_tags:
                break
            parts.append(f"</{open_tags.pop()}>")
        else:
            tag = "".join(rng.choice(LETTERS) for _ in range(rng.randint(min_tag_len, max_tag_len)))
            open_tags.append(tag)
            parts.append(f"<{tag}>")
        iteration += 1
    text = "".join(parts)
    return text, [True] * len(text)


def memorize_example(rng: random.Random, n_symbols: int = 5, alphabet_size: int = 26) -> tuple[str, list[bool]]:
    """Symbols, ``=``, the same symbols; score flags on the reproduced ones."""
    symbols = "".join(rng.choice(LETTERS[:alphabet_size]) for _ in range(n_symbols))
    return f"{symbols}={symbols}", [False] * (n_symbols + 1) + [True] * n_symbols


TASKS = {
    "arithmetic": (arithmetic_example, list("0123456789+-=" + END + LETTERS)),
    "xml": (xml_example, list("<>/" + LETTERS)),
    "memorize": (memorize_example, list(LETTERS + "=")),
}
SPLIT_SIZES = {"n_train": 10_000, "n_valid": 1_000, "n_test": 1_000}


def task_defaults(task: str) -> dict:
    """Every knob of ``task`` with its default (generator knobs plus split sizes)."""
    import inspect

    generator = TASKS[task][0]
    knobs = {name: p.default for name, p in inspect.signature(generator).parameters.items() if name != "rng"}
    return {**knobs, **SPLIT_SIZES}


def check_task_knobs(task: str, knobs: dict) -> dict:
    """Every knob of ``task`` with ``knobs`` applied; raises ``RnnlabError`` (one line) on an unknown or bad one."""
    defaults = task_defaults(task)
    unknown = sorted(set(knobs) - set(defaults))
    if unknown:
        raise RnnlabError(f"unknown option {unknown[0]!r} for dataset {task!r}; valid options: "
                          f"{', '.join(sorted(defaults))}, max_sequences")
    values = {**defaults, **knobs}
    for name in ("max_digits", "max_iterations", "min_tag_len", "max_tag_len", "n_symbols", "alphabet_size"):
        if name in values:
            check_positive(name, values[name])
    for name in SPLIT_SIZES:
        check_positive(name, values[name], allow_zero=True)
    if values.get("max_depth") is not None:
        check_positive("max_depth", values["max_depth"])
    for name in ("distractor_rate", "close_prob"):
        if name in values and (isinstance(values[name], bool) or not isinstance(values[name], int | float)
                               or not 0 <= values[name] < 1):
            raise RnnlabError(f"{name} must be a number in [0, 1), got {values[name]!r}")
    if values.get("alphabet_size", 1) > len(LETTERS):
        raise RnnlabError(f"alphabet_size must be at most {len(LETTERS)}, got {values['alphabet_size']}")
    if values.get("min_tag_len", 0) > values.get("max_tag_len", 1):
        raise RnnlabError(f"min_tag_len {values['min_tag_len']} exceeds max_tag_len {values['max_tag_len']}")
    return values


def generate(task: str, seed: int = 0, max_sequences: int | None = None, **knobs) -> Dataset:
    """Generate the train/valid/test splits of ``task`` deterministically from ``seed``."""
    values = check_task_knobs(task, knobs)
    generator, vocab = TASKS[task]
    index = {symbol: i for i, symbol in enumerate(vocab)}
    generator_knobs = {k: v for k, v in values.items() if k not in SPLIT_SIZES}
    splits, score_masks = {}, {}
    for split in SPLITS:
        rng = random.Random(f"{task}/{split}/{seed}")
        count = values[f"n_{split}"] if max_sequences is None else min(values[f"n_{split}"], max_sequences)
        examples = [generator(rng, **generator_knobs) for _ in range(count)]
        splits[split] = [torch.tensor([index[c] for c in text], dtype=torch.long) for text, _ in examples]
        score_masks[split] = [torch.tensor(flags, dtype=torch.bool) for _, flags in examples]
    changed = ", ".join(f"{k}={v}" for k, v in knobs.items())
    return Dataset(name=task, source=f"generated seed={seed}" + (f" ({changed})" if changed else ""),
                   kind="synthetic", splits=splits, n_in=len(vocab), n_out=len(vocab), loss="categorical",
                   metric="accuracy", vocab=list(vocab), score_masks=score_masks,
                   description=f"Jozefowicz et al. 2015 synthetic task {task!r}",
                   provenance=Provenance("generated", task, task))


def marked_example(ds: Dataset, split: str, index: int) -> str:
    """Example ``index`` of a synthetic set as text, scored characters in brackets (unmarked if all are scored)."""
    text = ds.decode(ds.splits[split][index])
    scored = ds.score_masks[split][index].tolist()
    if all(scored):
        return text
    return "".join(f"[{char}]" if flag else char for char, flag in zip(text, scored, strict=True))


def load(name: str, root=None, *, seed: int = 0, max_sequences: int | None = None, **knobs) -> Dataset:
    """The loader of the synthetic tasks (:mod:`rnnlab.data.loaders`): :func:`generate` from ``seed`` (no files)."""
    return generate(name, seed=seed, max_sequences=max_sequences, **knobs)


def check_options(name: str, options: dict) -> None:
    """The loader's option check (:mod:`rnnlab.data.loaders`): the task's generator knobs and split sizes."""
    check_task_knobs(name, options)
