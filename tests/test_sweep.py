"""Sweeps on Ray Tune: every grid point trains in its own run directory; a diverged point does not stop the sweep."""

from __future__ import annotations

import json

import pytest

from rnnlab.errors import RnnlabError
from rnnlab.train.runs import load
from rnnlab.train.sweep import grid_points, load_spec, point_name, run_sweep
from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize("spec", sorted((PROJECT_ROOT / "experiments").glob("*.json")), ids=lambda p: p.name)
def test_every_committed_spec_expands_to_valid_configs(spec):
    points = grid_points(load_spec(spec))
    assert points and len({point_name(p) for p in points}) == len(points)


def test_bad_spec_is_one_clear_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "x", "grid": {"arch": ["rnn", "wide-rnn"]}}))
    with pytest.raises(RnnlabError, match="'wide-rnn'.*valid choices"):
        grid_points(load_spec(path))
    with pytest.raises(RnnlabError, match="not found"):
        load_spec(tmp_path / "missing.json")


def test_ray_sweep_runs_every_point_and_survives_a_diverged_one(run_root):
    spec = {
        "name": "tiny",
        "base": {"dataset": "arithmetic", "arch": "rnn", "cell": "tanh", "optimizer": "sgd", "clip": None,
                 "epochs": 2, "bptt": None, "task_knobs": {"n_train": 64, "n_valid": 16, "n_test": 16}},
        "grid": {"lr": [0.1, 1e38]},
    }
    table = run_sweep(spec, root=run_root, smoke=True, max_concurrent=2)
    assert sorted(table["status"]) == ["diverged", "ok"]
    assert (table["error"] == "").all()
    runs = load(run_root)
    assert sorted(runs.status) == ["diverged", "ok"]
    again = run_sweep(spec, root=run_root, smoke=True, max_concurrent=2)  # finished points are not retrained
    assert sorted(again["run_dir"]) == sorted(table["run_dir"])
    assert len(load(run_root)) == 2
