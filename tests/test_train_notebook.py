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


NOTEBOOK_ONLY = {"smoke", "run_dir", "resume", "live"}


def test_every_training_knob_is_a_notebook_parameter_with_the_same_default_type_and_comment():
    """papermill sees exactly TrainConfig's knobs (plus smoke, run_dir, resume): a new knob cannot be forgotten."""
    import ast
    import typing

    from rnnlab.train.cli import _knob_comments

    params = pm.inspect_notebook(str(NOTEBOOK))
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    assert set(params) - NOTEBOOK_ONLY == set(fields)
    comments = _knob_comments()
    hints = typing.get_type_hints(TrainConfig)
    for name, field in fields.items():
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        assert ast.literal_eval(params[name]["default"]) == default, name
        assert params[name]["help"] == comments[name], name
        declared = params[name]["inferred_type_name"]
        optional = type(None) in typing.get_args(hints[name])
        base = [a for a in typing.get_args(hints[name]) if a is not type(None)][0] if optional else hints[name]
        assert declared == (f"Optional[{base.__name__}]" if optional else base.__name__), (name, declared)


def test_cli_offers_the_same_knobs():
    out = subprocess.run([sys.executable, "-m", "rnnlab.cli", "train", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for name in REQUIRED:
        if name != "smoke":
            assert "--" + name.replace("_", "-") in out, name
    assert "--smoke" in out and "--resume" in out
