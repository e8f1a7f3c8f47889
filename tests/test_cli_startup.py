"""The rnnlab command imports only what the subcommand given needs (issue 27: ``rnnlab train`` spent ~5 s importing
every subcommand, pandas and plotly before its first step)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rnnlab.cli import SUBCOMMANDS, chosen_command
from tests.conftest import PROJECT_ROOT

HEAVY = ("pandas", "plotly", "papermill", "torch", "scipy", "rnnlab.campaigns", "rnnlab.search", "rnnlab.viz")
PROBE = """
import json, sys
from rnnlab.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:  # --help
    code = exit.code
loaded = sorted(m for m in sys.modules if m in {heavy} or any(m.startswith(h + ".") for h in {heavy}))
print(json.dumps({{"code": code, "loaded": sorted({{m.split(".")[0] if not m.startswith("rnnlab") else
                                                    ".".join(m.split(".")[:2]) for m in loaded}}),
                  "subcommands": sorted(m for m in sys.modules if m.endswith("cli") and m != "rnnlab.cli")}}))
"""


def _probe(*argv: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=repr(HEAVY)), *argv], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_subcommand_is_the_first_word_that_is_not_an_option():
    assert chosen_command(["train", "--hidden", "8"]) == "train"
    assert chosen_command(["--version"]) == chosen_command([]) == chosen_command(["--help"]) == ""
    assert chosen_command(["trian", "--help"]) == ""  # no subcommand: the parser refuses it in one line
    assert chosen_command(["sweep", "train.json"]) == "sweep"


@pytest.mark.slow
def test_help_and_a_subcommands_parser_import_nothing_they_do_not_use():
    top = _probe("--help")
    assert top["code"] == 0 and top["subcommands"] == [] and top["loaded"] == []
    train = _probe("train", "--help")
    assert train["code"] == 0 and train["subcommands"] == ["rnnlab.train.cli"] and train["loaded"] == []
    figures = _probe("figures", "--help")  # plotly only once it renders
    assert figures["code"] == 0 and figures["subcommands"] == ["rnnlab.viz.figures_cli"]
    assert [m for m in figures["loaded"] if m != "rnnlab.viz"] == []
    assert len(SUBCOMMANDS) == len({module for module, _ in SUBCOMMANDS.values()})


@pytest.mark.slow
def test_rnnlab_train_trains_without_pandas_plotly_papermill_or_the_layers_above_train(tmp_path):
    run = _probe("train", "--dataset", "arithmetic", "--arch", "rnn", "--hidden", "8", "--epochs", "1",
                 "--max-updates-per-epoch", "2", "--max-eval-sequences", "2", "--task-knobs",
                 '{"n_train": 8, "n_valid": 4, "n_test": 4}', "--device", "cpu", "--quiet", "--run-dir",
                 str(tmp_path / "run"))
    assert run["code"] == 0 and (tmp_path / "run" / "summary.json").is_file()
    assert "torch" in run["loaded"]
    assert not {"pandas", "plotly", "papermill", "scipy", "rnnlab.campaigns", "rnnlab.search", "rnnlab.viz"} & \
        set(run["loaded"]), run
