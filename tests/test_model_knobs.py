"""One list of model knobs (issue 25): ``rnnlab.nets.knobs.MODEL_KNOBS``. ``model_config`` / ``build_model`` take
exactly those keywords, and a training run's ``TrainConfig`` carries exactly its ``run`` knobs, which
``build_model_for`` and ``TrainConfig.validate`` read from the list, never from a list of their own."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from rnnlab.errors import RnnlabError
from rnnlab.nets import build_model
from rnnlab.nets.knobs import MODEL_KNOBS, REQUIRED, Knob, knobs_from, model_config, model_knobs_for
from rnnlab.train import TrainConfig
from rnnlab.train.trainer import build_model_for

LIB = Path(__file__).resolve().parents[1] / "lib" / "rnnlab"


def _mismatches(config_class, knobs=None) -> list[str]:
    """Where a TrainConfig class and the knob list disagree: a TrainConfig knob of the model that the list does not
    mark ``run``, or a ``run`` knob that TrainConfig lacks."""
    knobs = MODEL_KNOBS if knobs is None else knobs
    fields = {f.name for f in dataclasses.fields(config_class)}
    run = {name for name, knob in knobs.items() if knob.source == "run"}
    problems = [f"TrainConfig.{name} is a model knob the list does not mark 'run'"
                for name in sorted(fields & set(knobs) - run)]
    problems += [f"the list's run knob {name!r} is no TrainConfig knob" for name in sorted(run - fields)]
    return problems


def test_train_config_carries_exactly_the_run_knobs():
    assert not _mismatches(TrainConfig)


def test_the_check_fails_when_a_model_knob_is_added_to_only_one_side(monkeypatch):
    """A model knob added to TrainConfig but not marked in the list, or the reverse, is caught."""
    wider = dataclasses.make_dataclass("Wider", [("input_depth", int, 0)], bases=(TrainConfig,))
    assert _mismatches(wider) == ["TrainConfig.input_depth is a model knob the list does not mark 'run'"]
    longer = {**MODEL_KNOBS, "gate_noise": Knob(0.0, "run", "a knob not in TrainConfig")}
    assert _mismatches(TrainConfig, longer) == ["the list's run knob 'gate_noise' is no TrainConfig knob"]


def test_every_other_train_config_knob_is_read_by_the_training_code():
    """A TrainConfig knob outside the list must be used by name somewhere (not only validated): a model knob added
    to TrainConfig alone would reach no model, and is caught here."""
    sources = "\n".join(p.read_text() for p in sorted(LIB.rglob("*.py")) if p.name != "config.py")
    unused = [name for name in TrainConfig.knob_names()
              if name not in MODEL_KNOBS and not re.search(rf"\.{name}\b|\[\"{name}\"\]", sources)]
    assert not unused, f"TrainConfig knobs nothing reads (model knobs belong in MODEL_KNOBS): {unused}"


def test_model_config_takes_exactly_the_listed_knobs_and_returns_one_key_each():
    config = model_config(hidden=8, n_in=3, n_out=3)
    assert list(config) == [name for name in MODEL_KNOBS if name != "equations"]  # equations: graph cells only
    assert list(model_config(cell="graph", hidden=8, n_in=3, n_out=3)) == list(MODEL_KNOBS)
    assert {name for name, knob in MODEL_KNOBS.items() if knob.required} == {"n_in", "n_out", "hidden"}
    depths = {"transition_depth", "output_depth", "levels"}  # resolved to 1 where the preset has no such depth
    assert {name: config[name] for name in config if name not in depths and not MODEL_KNOBS[name].required} == {
        name: knob.default for name, knob in MODEL_KNOBS.items()
        if name not in depths | {"equations"} and not knob.required}
    assert build_model(**build_model(hidden=8, n_in=3, n_out=3).config).config == config


@pytest.mark.parametrize("knobs, message", [
    (dict(hiden=8, n_in=3, n_out=3), "unknown model knob 'hiden'; valid knobs: arch, cell, n_in"),
    (dict(n_in=3, n_out=3), "model knob 'hidden' is required (no default); required: n_in, n_out, hidden"),
])
def test_a_bad_knob_name_is_one_line(knobs, message):
    with pytest.raises(RnnlabError, match=re.escape(message)):
        build_model(**knobs)


def test_a_default_train_config_describes_the_default_model():
    """TrainConfig's defaults of the run knobs are the list's (``equations=""`` means the same as None)."""
    assert model_config(**model_knobs_for(TrainConfig())) == model_config(hidden=200, n_in=1, n_out=1)
    assert knobs_from("dataset") == ("n_in", "n_out", "token_input")
    assert REQUIRED is MODEL_KNOBS["hidden"].default


class _Data:
    n_in = n_out = 7
    token_input = True


@pytest.mark.parametrize("knobs", [
    dict(arch="dts-rnn", cell="tanh", hidden=8, transition_hidden=6, nonlinearity="sigmoid", dropout=0.25,
         init="pascanu"),
    dict(arch="srnn", cell="lstm", hidden=8, levels=3, forget_bias=2.0),
    dict(arch="do-rnn", cell="gru", hidden=8, output_hidden=5),
    dict(cell="graph", hidden=8, equations="h' = tanh(lin(x) + lin(h))"),
])
def test_build_model_for_and_validate_read_every_run_knob(knobs):
    config = TrainConfig(dataset="ptb-char", **knobs)
    assert config.validate() is config
    built = build_model_for(config, _Data()).config
    for name, value in knobs.items():
        assert built[name] == value, name
    assert (built["n_in"], built["n_out"], built["token_input"]) == (7, 7, True)


def test_validate_refuses_a_model_the_nets_refuse():
    with pytest.raises(RnnlabError, match="transition_hidden=5 does not apply: arch 'rnn' has no deep transition"):
        TrainConfig(transition_hidden=5).validate()
    with pytest.raises(RnnlabError, match=re.escape("levels must be >= 2 for arch 'srnn'")):
        TrainConfig(arch="srnn", levels=1).validate()
