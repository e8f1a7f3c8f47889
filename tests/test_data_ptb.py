"""Penn Treebank: counts equal docs/data.md §4, vocabularies of 10 000 words / 50 symbols, lines round-trip."""

from __future__ import annotations

import pytest

from rnnlab.data import load_dataset
from rnnlab.data.ptb import EOL, EOS
from rnnlab.errors import RnnlabError
from tests import _fixtures_data
from tests._fixtures_data import catalogue_as_found

offline = _fixtures_data.offline

# docs/data.md §4: lines, words+eos, types (no eos), <unk> tokens / lines, symbols+EOL, alphabet (no EOL).
WORD = {"train": (42068, 929589, 9999, 45020), "valid": (3370, 73760, 6021, 3485), "test": (3761, 82430, 6048, 4794)}
CHAR = {"train": (42068, 5017482, 49), "valid": (3370, 393042, 49), "test": (3761, 442423, 47)}


@pytest.mark.canonical
def test_word_level_counts_equal_provenance(canonical_data):
    ds = load_dataset("ptb-word", root=canonical_data)
    assert (ds.kind, ds.metric, ds.loss, ds.n_in, ds.n_out) == ("text", "ppl", "categorical", 10_000, 10_000)
    assert EOS in ds.vocab and "<unk>" in ds.vocab
    table = ds.stats()
    for split, (lines, tokens, types, unk) in WORD.items():
        assert tuple(int(v) for v in table.loc[split, ["sequences", "tokens", "types", "unk"]]) == (
            lines, tokens, types + 1, unk)
    first = (canonical_data / "ptb" / "ptb.valid.txt").read_text().split("\n")[0]
    assert ds.decode(ds.splits["valid"][0]) == " ".join(first.split() + [EOS])


@pytest.mark.canonical
def test_char_level_counts_equal_provenance(canonical_data):
    ds = load_dataset("ptb-char", root=canonical_data)
    assert (ds.metric, ds.n_in) == ("bpc", 50) and EOL in ds.vocab and "_" in ds.vocab
    table = ds.stats()
    for split, (lines, tokens, alphabet) in CHAR.items():
        assert tuple(int(v) for v in table.loc[split, ["sequences", "tokens", "types"]]) == (
            lines, tokens, alphabet + 1)
    first = (canonical_data / "ptb" / "ptb.char.test.txt").read_text().split("\n")[0]
    assert ds.decode(ds.splits["test"][0]) == "".join(first.split()) + EOL


def _write_ptb(folder, train, valid, test, monkeypatch=None):
    (folder / "ptb").mkdir(parents=True)
    for split, text in (("train", train), ("valid", valid), ("test", test)):
        (folder / "ptb" / f"ptb.{split}.txt").write_text(text)
    if monkeypatch is not None:  # hand-made files: make them the catalogued ones
        catalogue_as_found(monkeypatch, "ptb-word", folder)


def test_vocabulary_is_ordered_by_frequency_then_alphabet(offline, tmp_path, monkeypatch):
    _write_ptb(tmp_path, " b a b \n c b \n", " a \n", " c c \n", monkeypatch)
    ds = load_dataset("ptb-word", root=tmp_path)
    assert ds.vocab == ["b", "<eos>", "a", "c"]  # b x3; <eos> x2; a, c x1 (alphabetical)
    assert [t.tolist() for t in ds.splits["train"]] == [[0, 2, 0, 1], [3, 0, 1]]
    assert ds.source == "canonical ptb-word (ptb/ptb.train.txt, ptb/ptb.valid.txt, ptb/ptb.test.txt)"  # no folder


def test_unknown_word_in_valid_is_one_line(offline, tmp_path, monkeypatch):
    _write_ptb(tmp_path, " a \n", " zebra \n", " a \n", monkeypatch)
    with pytest.raises(RnnlabError, match="ptb.valid.txt: token 'zebra' is not in the training vocabulary"):
        load_dataset("ptb-word", root=tmp_path)


def test_missing_ptb_names_the_fix(offline, tmp_path):
    with pytest.raises(RnnlabError, match="rnnlab data fetch ptb-char"):
        load_dataset("ptb-char", root=tmp_path)
