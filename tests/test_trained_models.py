"""A trained model back from its run folder (``rnnlab.train.trained``), the states it records with the cells' own
gate/candidate names (``rnnlab.nets.states``), and what one step costs (``rnnlab.nets.cost``)."""

from __future__ import annotations

import json

import pytest
import torch

from rnnlab.cells.graph import LIBRARY
from rnnlab.data.dataset import Dataset
from rnnlab.errors import RnnlabError
from rnnlab.nets import build_model
from rnnlab.nets.cost import one_step_cost
from rnnlab.nets.states import record_states
from rnnlab.train.config import TrainConfig
from rnnlab.train.trained import load_trained_model
from rnnlab.train.trainer import Trainer
from rnnlab.viz import dynamics


def _piece(steps=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(steps, 88, generator=generator) < 0.05).float()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pieces = [_piece(20, seed=s) for s in range(5)]
    data = Dataset(name="bach-music21", source="test", kind="music", n_in=88, n_out=88, loss="bernoulli",
                   metric="nll", splits={"train": pieces[:3], "valid": pieces[3:4], "test": pieces[4:]})
    config = TrainConfig(dataset="bach-music21", arch="rnn", cell="gru", hidden=6, epochs=2, batch_size=2, bptt=8,
                         seed=3)
    trainer = Trainer(config, root=tmp_path_factory.mktemp("runs"), dataset=data, progress=False)
    initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    return {"trainer": trainer, "config": config, "data": data, "initial": initial}


def test_each_kind_of_weights_comes_back(run):
    run_dir = run["trainer"].run_dir
    before = torch.get_rng_state()
    model, config = load_trained_model(run_dir, "initial")
    assert torch.equal(torch.get_rng_state(), before)  # the seed's initialisation leaves the caller's generators
    assert config == run["config"] and not model.training
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, run["initial"][name])
    for weights in ("best", "last"):
        saved = torch.load(run_dir / "checkpoints" / f"{weights}.pt", weights_only=False)["model"]
        model, _ = load_trained_model(run_dir, weights, dataset=run["data"])
        for name, value in model.state_dict().items():
            torch.testing.assert_close(value, saved[name])
    with pytest.raises(RnnlabError, match="weights"):
        load_trained_model(run_dir, "init")


def test_what_cannot_be_loaded_is_said_in_one_line(run, tmp_path):
    run_dir = run["trainer"].run_dir
    text = tmp_path / "text-run"
    text.mkdir()
    (text / "config.json").write_text(json.dumps({**run["config"].to_dict(), "dataset": "ptb-char"}))
    with pytest.raises(RnnlabError, match="pass dataset=load_dataset"):
        load_trained_model(text, "initial")
    pretrained = tmp_path / "pretrained-run"
    pretrained.mkdir()
    (pretrained / "config.json").write_text(json.dumps({**run["config"].to_dict(), "init_from": str(run_dir)}))
    with pytest.raises(RnnlabError, match="init_from"):
        load_trained_model(pretrained, "initial")
    with pytest.raises(RnnlabError, match="no last checkpoint"):
        load_trained_model(pretrained, "last")


@pytest.mark.parametrize("cell, options, gates", [("lstm", {}, ["i", "f", "o"]), ("gru", {}, ["z", "r"]),
                                                  ("tanh", {}, []),
                                                  ("graph", {"equations": LIBRARY["gru"]}, ["r", "z"])])
def test_recorded_states_know_the_gates_from_the_cell(cell, options, gates):
    torch.manual_seed(0)
    model = build_model(arch="dts-rnn", cell=cell, n_in=88, n_out=88, hidden=5, **options)
    states = record_states(model, _piece(), label=cell)
    for layer in states.recurrent_layers:
        recorded = set(states.gates.get(layer, {}))
        assert recorded == set(model.levels[0].cells[0].gate_names)  # every activation is kept
        assert states.gate_names(layer) == gates  # only the [0,1] gates count as gates
    joined = dynamics.concat_gates([states, record_states(model, _piece(seed=1))])
    assert {g for by_gate in joined.values() for g in by_gate} == set(gates)
    assert all(v.shape == (32, 5) for by_gate in joined.values() for v in by_gate.values())
    table = dynamics.saturation_table(joined)
    assert set(table["gate"]) == set(gates)
    assert len(table) == len(gates) * 5 * len(states.recurrent_layers)


def test_one_step_cost_restores_the_training_mode():
    model = build_model(arch="rnn", cell="gru", n_in=88, n_out=88, hidden=8)
    model.train()
    cost = one_step_cost(model, batch_size=2, steps=3, repeats=1)
    assert model.training and cost["ms_per_step"] > 0 and cost["flops_per_step"] == 2 * cost["weights"]
