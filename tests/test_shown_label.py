"""One rule for which trained model a view shows (notebooks 04/05 and the DynamicsExplorer): the selection when it is
one of the models, else the first listed."""

from __future__ import annotations

import warnings

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.nets import build_model
from rnnlab.nets.states import record_states
from rnnlab.viz.widgets import DynamicsExplorer, shown_label

LABELS = ["rnn/tanh", "rnn/lstm", "dts-rnn/tanh"]


def test_the_selection_when_present_else_the_first_listed():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert shown_label("rnn/lstm", LABELS) == "rnn/lstm"
        assert shown_label("", LABELS) == "rnn/tanh" and shown_label(None, LABELS) == "rnn/tanh"
        assert shown_label("dts-rnn/tanh", {label: None for label in LABELS}) == "dts-rnn/tanh"  # any iterable
    with pytest.warns(UserWarning, match=r"'rnn/lstn' is not among the trained models \(rnn/tanh, rnn/lstm"):
        assert shown_label("rnn/lstn", LABELS) == "rnn/tanh"
    with pytest.raises(RnnlabError, match="no models"):
        shown_label("rnn/tanh", [])


def _states(label: str, cell: str, piece: torch.Tensor):
    torch.manual_seed(0)
    return record_states(build_model(arch="rnn", cell=cell, n_in=88, n_out=88, hidden=5), piece, label=label)


def test_the_explorer_starts_where_the_rule_says():
    piece = (torch.rand(10, 88, generator=torch.Generator().manual_seed(0)) < 0.05).float()
    states = {"rnn/tanh": _states("rnn/tanh", "tanh", piece), "rnn/lstm": _states("rnn/lstm", "lstm", piece)}
    assert DynamicsExplorer(states, focus="rnn/lstm", span=(2, 4)).arch.value == "rnn/lstm"
    assert DynamicsExplorer(states, span=(2, 4)).arch.value == "rnn/tanh"
    with pytest.warns(UserWarning):
        explorer = DynamicsExplorer(states, focus="gru", span=(2, 4))
    assert explorer.arch.value == "rnn/tanh"
    assert list(explorer.arch.options) == ["rnn/tanh", "rnn/lstm"]  # the order given, not reshuffled for focus
