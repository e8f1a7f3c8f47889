"""The training notebook's knobs are discoverable by papermill and match TrainConfig and ``rnnlab train``."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import papermill as pm

from rnnlab.train.config import TrainConfig
from tests.conftest import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "03_train.ipynb"
REQUIRED = ["dataset", "arch", "cell", "hidden", "epochs", "batch_size", "bptt", "optimizer", "lr", "clip",
            "weight_noise", "dropout", "seed", "device", "smoke", "run_dir"]


def test_papermill_help_lists_every_required_knob_with_its_comment():
    papermill = PROJECT_ROOT / ".venv" / "bin" / "papermill"
    exe = [str(papermill)] if papermill.exists() else [sys.executable, "-m", "papermill"]
    out = subprocess.run(exe + ["--help-notebook", str(NOTEBOOK)], capture_output=True, text=True, check=True).stdout
    params = pm.inspect_notebook(str(NOTEBOOK))
    for name in REQUIRED:
        assert name in params, name
        assert params[name]["help"], f"{name} has no comment"
        assert name in out and params[name]["help"][:30] in out


def test_notebook_knobs_are_training_knobs_with_the_same_names():
    params = pm.inspect_notebook(str(NOTEBOOK))
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(params) - {"smoke", "run_dir"} <= fields


def test_cli_offers_the_same_knobs():
    out = subprocess.run([sys.executable, "-m", "rnnlab.cli", "train", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for name in REQUIRED:
        if name != "smoke":
            assert "--" + name.replace("_", "-") in out, name
    assert "--smoke" in out and "--resume" in out
