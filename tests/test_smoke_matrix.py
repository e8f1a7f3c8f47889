"""Every architecture preset trains end to end (smoke sizes) on a music set, PTB characters and a synthetic task."""

from __future__ import annotations

import pytest

from rnnlab.data import load_dataset
from rnnlab.nets import ARCHS
from rnnlab.train import TrainConfig, smoke_overrides
from rnnlab.train.trainer import Trainer

DATASETS = ["bach-music21", "jsb", "ptb-char", "arithmetic"]
NEEDS_CANONICAL = {"jsb", "ptb-char"}
_cache: dict = {}


def _dataset(name, request):
    if name in NEEDS_CANONICAL:
        request.getfixturevalue("canonical_data")
    if name not in _cache:
        _cache[name] = load_dataset(name, fallback=False)
    return _cache[name]


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_preset_trains_on_every_kind_of_data(arch, dataset, request, run_root):
    data = _dataset(dataset, request)
    config = smoke_overrides(TrainConfig(dataset=dataset, arch=arch, cell="gru" if arch == "srnn" else "tanh",
                                         device="cpu"))
    summary = Trainer(config, root=run_root, progress=False, dataset=data).fit()
    assert summary["status"] == "ok", summary["message"]
    assert summary["epochs_run"] == 2 and summary["updates"] == 6
    metric = data.metric
    value = summary["test"][metric]
    if metric == "accuracy":
        assert 0.0 <= value <= 1.0
    else:
        assert value > 0
    assert summary["data_source"] == data.source
