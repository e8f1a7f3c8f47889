"""The synthetic tasks of Jozefowicz et al. 2015: correct by construction, scored where they should be, seeded."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from rnnlab.data import load_dataset
from rnnlab.errors import RnnlabError

SMALL = {"n_train": 300, "n_valid": 50, "n_test": 50}


def _texts_and_scored(ds, split="train"):
    for tokens, mask in zip(ds.splits[split], ds.score_masks[split], strict=True):
        text = ds.decode(tokens)
        yield text, "".join(c for c, m in zip(text, mask.tolist(), strict=True) if m)


def test_arithmetic_answers_are_right_and_exactly_the_answer_is_scored():
    ds = load_dataset("arithmetic", seed=3, **SMALL)
    assert ds.kind == "synthetic" and ds.metric == "accuracy" and ds.loss == "categorical"
    ops = set()
    for text, scored in _texts_and_scored(ds):
        question, answer = text.split("=")
        clean = re.sub("[a-z]", "", question)  # drop the distractor letters
        a, op, b = re.fullmatch(r"(\d+)([+-])(\d+)", clean).groups()
        ops.add(op)
        assert len(a) <= 8 and len(b) <= 8 and (len(a) == 1 or a[0] != "0")
        assert answer == f"{int(a) + int(b) if op == '+' else int(a) - int(b)}."
        assert scored == answer  # the answer characters and the end marker, nothing else
        assert not text[0].isalpha()  # distractors only *between* input characters
    assert ops == {"+", "-"}


def test_arithmetic_knobs_digits_distractors_and_signs():
    plain = load_dataset("arithmetic", max_digits=2, distractor_rate=0.0, **SMALL)
    texts = [plain.decode(t) for t in plain.splits["train"]]
    assert all(re.fullmatch(r"\d{1,2}[+-]\d{1,2}=-?\d+\.", t) for t in texts)
    dense = load_dataset("arithmetic", distractor_rate=0.5, **SMALL)
    questions = [t[: t.index("=") + 1] for t in (dense.decode(x) for x in dense.splits["train"])]
    gaps = sum(len(re.sub("[a-z]", "", q)) - 1 for q in questions)
    letters = sum(len(re.findall("[a-z]", q)) for q in questions)
    assert 0.85 < letters / gaps < 1.15  # geometric: mean rate / (1 - rate) = 1 letter per gap
    signed = load_dataset("arithmetic", signed_operands=True, distractor_rate=0.0, **SMALL)
    assert any(signed.decode(t).startswith("-") for t in signed.splits["train"])


def test_xml_documents_are_well_formed_never_empty_with_2_to_10_letter_tags():
    ds = load_dataset("xml", **SMALL)
    for tokens, mask in zip(ds.splits["train"], ds.score_masks["train"], strict=True):
        text = ds.decode(tokens)
        assert text.startswith("<") and mask.all()
        ET.fromstring(f"<root>{text}</root>")  # raises unless every tag is closed in order
        assert all(2 <= len(tag) <= 10 and tag.isalpha() and tag.islower()
                   for tag in re.findall(r"</?([^>]*)>", text))


def test_xml_depth_knob_caps_nesting():
    ds = load_dataset("xml", max_depth=2, close_prob=0.1, **SMALL)
    for tokens in ds.splits["train"]:
        depth = deepest = 0
        for closing, _ in re.findall(r"<(/?)([a-z]+)>", ds.decode(tokens)):
            depth += -1 if closing else 1
            deepest = max(deepest, depth)
        assert deepest <= 2


def test_memorize_reproduces_five_of_26_and_scores_the_reproduction():
    ds = load_dataset("memorize", **SMALL)
    for text, scored in _texts_and_scored(ds):
        shown, reproduced = text.split("=")
        assert len(shown) == 5 and set(shown) <= set("abcdefghijklmnopqrstuvwxyz")
        assert reproduced == shown == scored


@pytest.mark.parametrize("task", ["arithmetic", "xml", "memorize"])
def test_same_seed_same_data_other_seed_other_data(task):
    a, b, c = (load_dataset(task, seed=s, **SMALL) for s in (0, 0, 1))
    assert all(x.equal(y) for x, y in zip(a.splits["test"], b.splits["test"], strict=True))
    assert not all(x.equal(y) for x, y in zip(a.splits["test"], c.splits["test"], strict=False))
    bigger = load_dataset(task, seed=0, n_train=400, n_valid=50, n_test=50)
    assert all(x.equal(y) for x, y in zip(a.splits["valid"], bigger.splits["valid"], strict=True))
    assert a.source == "generated seed=0 (n_train=300, n_valid=50, n_test=50)"


@pytest.mark.parametrize("knobs, words", [
    ({"digits": 3}, "unknown option 'digits' for dataset 'arithmetic'; valid options:"),
    ({"max_digits": 0}, "max_digits must be an integer >= 1, got 0"),
    ({"distractor_rate": 1.0}, "distractor_rate must be a number in [0, 1), got 1.0"),
])
def test_bad_knobs_are_one_clear_line(knobs, words):
    with pytest.raises(RnnlabError) as err:
        load_dataset("arithmetic", **knobs)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_marked_example_brackets_the_scored_characters():
    from rnnlab.data.synthetic import marked_example

    ds = load_dataset("memorize", n_train=1, n_valid=0, n_test=0)
    shown = ds.decode(ds.splits["train"][0])[:5]
    assert marked_example(ds, "train", 0) == shown + "=" + "".join(f"[{c}]" for c in shown)
    xml = load_dataset("xml", n_train=1, n_valid=0, n_test=0)
    assert marked_example(xml, "train", 0) == xml.decode(xml.splits["train"][0])
