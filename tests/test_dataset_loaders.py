"""Datasets are dispatched by the registry (issue 25): each registry line names its loader module
(:mod:`rnnlab.data.loaders`), its options and its unit, so loading, option checks, fetching, decoding and sizing a
model ask the registry, never a set's name or kind; a new text corpus is its loader and one registry line."""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest
import torch

from rnnlab.data import DATASETS, KINDS, Dataset, DatasetSpec, Provenance, check_dataset_options, load_dataset
from rnnlab.data.dataset import SPLITS
from rnnlab.data.fetch import fetch, inventory
from rnnlab.data.loaders import loader
from rnnlab.data.registry import KIND_SPECS
from rnnlab.errors import RnnlabError
from rnnlab.train import TrainConfig, smoke_overrides
from rnnlab.train.trainer import Trainer, build_model_for

LIB = Path(__file__).resolve().parents[1] / "lib" / "rnnlab"
WORDS = ["<eos>", "the", "cat", "sat", "on", "mat"]


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_registry_line_names_a_loader_that_loads_and_checks_it(name):
    spec = DATASETS[name]
    module = loader(name)
    assert module.__name__ == f"rnnlab.data.{spec.loader}" and callable(module.load)
    if spec.options is None:
        assert callable(module.check_options)
    assert spec.loss == KIND_SPECS[spec.kind].loss and spec.token_input == (spec.kind != "music")
    assert spec.separator == (" " if spec.unit == "word" else "")


def _tiny_corpus(name: str = "tinytext") -> types.ModuleType:
    """A loader module for a corpus of whitespace-separated words: what a new text corpus brings."""
    module = types.ModuleType(f"rnnlab.data.{name}")

    def load(name, root=None, *, seed=0, max_sequences=None):
        lines = [[1, 2, 3, 4, 1, 5, 0], [1, 5, 3, 0], [2, 3, 0]]
        splits = {split: [torch.tensor(line) for line in lines][:max_sequences] for split in SPLITS}
        return Dataset(name=name, source=f"canonical {name} (tiny.txt)", kind="text", splits=splits,
                       n_in=len(WORDS), n_out=len(WORDS), loss="categorical", metric="ppl", vocab=list(WORDS),
                       provenance=Provenance("canonical", name, name))

    module.load = load
    return module


@pytest.fixture
def tinytext(monkeypatch):
    """Register a new text corpus: its loader module and one registry line, nothing else."""
    monkeypatch.setitem(sys.modules, "rnnlab.data.tinytext", _tiny_corpus())
    monkeypatch.setitem(DATASETS, "tinytext", DatasetSpec("tinytext", "text", "a tiny corpus of words", "word",
                                                           "ppl", loader="tinytext"))
    return "tinytext"


def test_a_new_text_corpus_is_its_loader_and_one_registry_line(tinytext, tmp_path):
    check_dataset_options(tinytext, {"max_sequences": 2})
    with pytest.raises(RnnlabError, match="unknown option 'rebuild' for dataset 'tinytext'; valid options: "
                                          "max_sequences$"):
        check_dataset_options(tinytext, {"rebuild": True})
    ds = load_dataset(tinytext, max_sequences=2)
    assert len(ds.splits["train"]) == 2 and ds.token_input
    assert ds.decode(ds.splits["train"][0]) == "the cat sat on the mat <eos>"  # words are spaced: its unit says so
    config = smoke_overrides(TrainConfig(dataset=tinytext, device="cpu", hidden=8)).validate()
    model = build_model_for(config, ds)
    assert (model.config["n_in"], model.config["token_input"]) == (len(WORDS), True)
    assert fetch(tinytext) == []  # nothing catalogued to download, and its loader makes nothing
    assert tinytext in set(inventory(tmp_path)["dataset"])
    summary = Trainer(config, root=tmp_path, progress=False).fit()
    assert summary["dataset"] == tinytext and summary["status"] == "ok"


def test_an_unknown_loader_is_one_line(monkeypatch):
    monkeypatch.setitem(DATASETS, "nowhere", DatasetSpec("nowhere", "text", "no loader", "word", "ppl",
                                                         loader="no_such_loader"))
    with pytest.raises(RnnlabError, match="dataset 'nowhere': its loader rnnlab.data.no_such_loader does not exist"):
        load_dataset("nowhere")
    with pytest.raises(RnnlabError, match="unknown kind 'poetry'; valid choices: music, text, synthetic"):
        DatasetSpec("verse", "poetry", "no such kind", "word", "ppl")


def _name_or_kind_comparisons(source: str, where: str) -> list[str]:
    """``x == "ptb-word"``, ``kind != "music"``, ``name in ("jsb", ...)``: a dataset or kind compared by name."""
    names = set(DATASETS) | set(KINDS)
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if isinstance(node, ast.Compare):
            literals = [c.value for o in (node.left, *node.comparators) for c in ast.walk(o)
                        if isinstance(c, ast.Constant)]
            hits = [v for v in literals if isinstance(v, str) and v in names]
            if hits:
                found.append(f"{where}:{node.lineno}: compares with {hits}")
    return found


def test_loading_fetching_decoding_and_sizing_a_model_never_dispatch_on_a_name_or_kind():
    modules = ["data/loading.py", "data/loaders.py", "data/fetch.py", "data/dataset.py", "train/trainer.py"]
    offenders = [hit for module in modules for hit in _name_or_kind_comparisons((LIB / module).read_text(), module)]
    assert not offenders, "ask the registry (DatasetSpec: loader, options, unit; KIND_SPECS):\n" + "\n".join(offenders)
    old = 'symbols = " ".join(s) if self.name == "ptb-word" else "".join(s)\ntokens = dataset.kind != "music"\n'
    assert len(_name_or_kind_comparisons(old, "old")) == 2  # the check can fail: the code it replaced
