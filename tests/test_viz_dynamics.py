"""Hidden-dynamics views: unit selection, corpus matches, PCA, gate saturation, heatmaps, and their widget.

References are independent: hand-made activation patterns with known answers, numpy's eigendecomposition of the
covariance for PCA, explicit loops for saturation fractions, and the model's own readout for recorded states.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.nets import build_model
from rnnlab.nets.states import record_states
from rnnlab.viz import dynamics
from rnnlab.viz.widgets import DynamicsExplorer, refresh


def _planted() -> np.ndarray:
    """10 steps × 5 units: unit 1 on exactly over t 3..5; unit 2 on over 2..6; unit 3 on everywhere; 0, 4 off."""
    acts = np.full((10, 5), -0.5)
    acts[3:6, 1] = 0.8
    acts[2:7, 2] = 0.6
    acts[:, 3] = 0.9
    acts[4, 4] = 0.9
    return acts


def test_select_units_by_threshold_over_a_span():
    acts = _planted()
    assert dynamics.select_units(acts, 3, 5, threshold=0.3).tolist() == [1, 2, 3]
    assert dynamics.select_units(acts, 4, 4, threshold=0.85).tolist() == [3, 4]
    assert dynamics.select_units(acts, 3, 5, threshold=0.7).tolist() == [1, 3]


def test_select_units_by_on_off_signature_with_pads():
    acts = _planted()
    # off one step before and after the span: only unit 1 turns on exactly at 3 and off after 5
    assert dynamics.select_units(acts, 3, 5, threshold=0.3, pad_left=1, pad_right=1).tolist() == [1]
    # unit 2 is the one whose signature is span 2..6
    assert dynamics.select_units(acts, 2, 6, threshold=0.3, pad_left=2, pad_right=3).tolist() == [2]
    # pads running past the ends are clipped: unit 3 is on over the whole sequence
    assert dynamics.select_units(acts, 0, 9, threshold=0.3, pad_left=4, pad_right=4).tolist() == [3]


def test_strongest_signature_ranks_units_by_on_off_contrast():
    acts = np.zeros((8, 4))
    acts[3:5, 0] = [0.5, 0.6]  # margin 0.5 (pads 0)
    acts[3:5, 1] = [0.2, 0.2]  # margin 0.2
    acts[:, 2] = 0.9  # on everywhere: margin 0
    acts[3:5, 3] = [0.9, 0.9]
    acts[2, 3] = 0.3  # margin 0.6
    units, thresholds = dynamics.strongest_signature(acts, 3, 4, pad_left=1, pad_right=1, k=2)
    assert units.tolist() == [0, 3]
    np.testing.assert_allclose(thresholds, [0.25, 0.6])
    assert dynamics.strongest_signature(acts, 3, 4, k=10)[0].tolist() == [0, 1, 3]
    assert dynamics.select_units(acts, 3, 4, threshold=0.3, pad_left=1, pad_right=1).tolist() == [0]
    # per-unit thresholds in the corpus search
    table = dynamics.find_matches([acts], units, threshold=thresholds)
    assert table[["start", "end"]].values.tolist() == [[3, 4]]
    with pytest.raises(RnnlabError, match="one per unit"):
        dynamics.find_matches([acts], units, threshold=np.array([0.1, 0.2, 0.3]))


@pytest.mark.parametrize("span", [(-1, 3), (4, 2), (0, 10)])
def test_select_units_rejects_a_span_outside_the_sequence(span):
    with pytest.raises(RnnlabError, match="span"):
        dynamics.select_units(_planted(), *span)


def test_find_matches_ranks_spans_where_all_selected_units_fire():
    base = np.full((20, 3), -1.0)
    first, second = base.copy(), base.copy()
    first[2:5, [0, 1]] = 0.5  # length 3, both units on
    first[10:12, [0, 1]] = 0.9  # length 2
    first[15:18, 0] = 0.9  # only unit 0: not a strict match
    second[5:9, [0, 1]] = 0.4  # length 4
    table = dynamics.find_matches([first, second], [0, 1], threshold=0.3, query_length=3)
    assert table[["sequence", "start", "end", "length"]].values.tolist() == [[0, 2, 4, 3], [0, 10, 11, 2],
                                                                           [1, 5, 8, 4]]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table.loc[1, "mean_activation"] == pytest.approx(0.9)
    # equally distant lengths: the stronger activation ranks first
    assert table["length"].sub(3).abs().tolist() == [0, 1, 1]
    # half of the units suffice: the unit-0-only span is found too
    loose = dynamics.find_matches([first, second], [0, 1], threshold=0.3, min_fraction=0.5, query_length=3)
    assert [15, 17] in loose[["start", "end"]].values.tolist()
    # the query itself is excluded, and min_length filters
    excluded = dynamics.find_matches([first, second], [0, 1], threshold=0.3, exclude=(0, 3, 3), min_length=3)
    assert excluded[["sequence", "start"]].values.tolist() == [[1, 5]]
    assert dynamics.find_matches([first], [], threshold=0.3).empty


def test_matches_figure_has_one_row_per_match_aligned_at_the_start():
    acts = np.full((12, 2), -1.0)
    acts[4:7] = 0.5
    table = dynamics.find_matches([acts], [0, 1], threshold=0.3)
    fig = dynamics.matches_figure(table, [acts], [0, 1], context=2)
    heat = next(t for t in fig.data if t.name == "matches")
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (1, 3 + 4)
    np.testing.assert_allclose(z[0], acts[2:9].mean(axis=1))
    assert list(heat.x) == list(range(-2, 5))


def test_pca_matches_the_eigendecomposition_of_the_covariance():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(60, 6)) @ rng.normal(size=(6, 6))
    coords, ratio = dynamics.pca_project(states, 3)
    centred = states - states.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    np.testing.assert_allclose(ratio, values[:3] / values.sum(), rtol=1e-10)
    for k in range(3):
        reference = centred @ vectors[:, k]
        sign = np.sign(reference @ coords[:, k])
        np.testing.assert_allclose(coords[:, k], sign * reference, atol=1e-9)


def test_pca_trajectory_draws_the_projection_and_highlights_the_chosen_step():
    rng = np.random.default_rng(1)
    states = rng.normal(size=(30, 8))
    coords, _ = dynamics.pca_project(states, 2)
    fig = dynamics.pca_trajectory(states, highlight=7, title="x")
    path, now = fig.data
    np.testing.assert_allclose(path.x, coords[:, 0])
    np.testing.assert_allclose(path.marker.color, np.arange(30))
    assert (now.x[0], now.y[0]) == pytest.approx((coords[7, 0], coords[7, 1]))
    assert "t = 7" in fig.layout.title.text
    fig3 = dynamics.pca_trajectory(states, dims=3, highlight=0)
    assert [t.type for t in fig3.data] == ["scatter3d", "scatter3d"]
    with pytest.raises(RnnlabError, match="highlight"):
        dynamics.pca_trajectory(states, highlight=30)
    with pytest.raises(RnnlabError, match="dims"):
        dynamics.pca_trajectory(states, dims=4)


def test_saturation_fractions_equal_an_explicit_count():
    rng = np.random.default_rng(2)
    gates = {"level0/step0": {"i": rng.uniform(size=(50, 4)), "f": rng.uniform(size=(50, 4)),
                              "g": rng.uniform(-1, 1, size=(50, 4))},
             "level1/step0": {"i": rng.uniform(size=(25, 2, 3))}}
    table = dynamics.saturation_table(gates)
    assert set(table["gate"]) == {"i", "f"}  # the candidate g is not a gate
    for row in table.itertuples():
        values = gates[row.layer][row.gate].reshape(-1, gates[row.layer][row.gate].shape[-1])[:, row.unit]
        left = sum(1 for v in values if v < 0.1) / len(values)
        right = sum(1 for v in values if v > 0.9) / len(values)
        assert (row.left, row.right) == pytest.approx((left, right))
    fig = dynamics.gate_saturation(table)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["gate i", "gate f"]
    layer_traces = [t for t in fig.data if t.name == "level1/step0"]
    assert len(layer_traces) == 1 and len(layer_traces[0].x) == 3
    assert dynamics.gate_saturation(dynamics.saturation_table({})).data == ()


def test_activation_heatmap_aligns_units_under_the_piano_roll():
    rng = np.random.default_rng(3)
    acts = rng.uniform(-1, 1, size=(16, 6))
    roll = np.zeros((16, 88), dtype=np.float32)
    roll[np.arange(16), 39 + np.arange(16) % 5] = 1  # MIDI 60..64
    fig = dynamics.activation_heatmap(acts, roll=roll, units=[4, 1], span=(3, 5), selected=[1])
    inputs = next(t for t in fig.data if t.name == "input")
    heat = next(t for t in fig.data if t.name == "activations")
    np.testing.assert_allclose(np.asarray(heat.z), acts[:, [4, 1]].T)
    assert list(inputs.y) == ["C4", "C#4", "D4", "D#4", "E4"]
    np.testing.assert_array_equal(np.asarray(inputs.z), roll[:, 39:44].T)
    assert heat.xaxis == "x2" and inputs.xaxis == "x" and fig.layout.xaxis.matches == "x2"
    assert heat.customdata[0][0] == "C4"
    assert len(fig.layout.shapes) == 2  # the span, on both rows
    assert next(t for t in fig.data if t.name == "selected").y == ("unit 1",)
    text = dynamics.activation_heatmap(acts[:3], tokens=["the", "cat", "sat"])
    assert list(next(t for t in text.data if t.name == "input").text[0]) == ["the", "cat", "sat"]


def _tiny_model(cell="lstm", arch="rnn", hidden=6):
    torch.manual_seed(0)
    return build_model(arch=arch, cell=cell, n_in=88, n_out=88, hidden=hidden)


def _piece(steps=12, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(steps, 88, generator=generator) < 0.05).float()


def test_recorded_top_state_is_what_the_readout_reads():
    model = _tiny_model("lstm", "dts-rnn")
    piece = _piece()
    states = record_states(model, piece, label="dts/lstm")
    assert states.recurrent_layers == ["level0/step0", "level0/step1"] and states.top == "level0/step1"
    assert states.h[states.top].shape == (12, 6) and set(states.gates[states.top]) == {"i", "f", "g", "o"}
    with torch.no_grad():
        logits, _ = model(piece[:, None])
        readout = model.readout(torch.from_numpy(states.h[states.top]))
    torch.testing.assert_close(readout, logits[:, 0], atol=1e-5, rtol=1e-5)
    assert model.training  # restored
    assert states.hover()[0] == dynamics.notes_at(piece.numpy())[0]


def test_side_by_side_shows_both_architectures_on_the_same_piece():
    piece = _piece(10)
    left = record_states(_tiny_model("tanh"), piece, label="rnn/tanh")
    right = record_states(_tiny_model("gru", hidden=5), piece, label="rnn/gru")
    fig = dynamics.side_by_side(left, right, max_units=4, highlight=3)
    heat = [t for t in fig.data if t.name.endswith("activations")]
    assert [t.name for t in heat] == ["rnn/tanh activations", "rnn/gru activations"]
    top4 = np.sort(np.argsort(-left.h[left.top].std(axis=0), kind="stable")[:4])
    np.testing.assert_allclose(np.asarray(heat[0].z), left.h[left.top][:, top4].T)
    assert [a.text for a in fig.layout.annotations][:2] == ["rnn/tanh", "rnn/gru"]
    short = record_states(_tiny_model("gru"), piece[:5], label="short")
    with pytest.raises(RnnlabError, match="same sequence"):
        dynamics.side_by_side(left, short)


def test_refresh_updates_a_figure_widget_in_place_or_replaces_its_traces():
    widget = go.FigureWidget(go.Figure(go.Scatter(y=[1, 2])))
    refresh(widget, go.Figure(go.Scatter(y=[3, 4]), layout=dict(title="new")))
    assert widget.data[0].y == (3, 4) and widget.layout.title.text == "new"
    refresh(widget, go.Figure([go.Heatmap(z=[[1]]), go.Scatter(y=[0])]))
    assert [t.type for t in widget.data] == ["heatmap", "scatter"]


def test_dynamics_explorer_moves_the_point_and_reselects_units():
    piece = _piece(14)
    states = {label: record_states(_tiny_model(cell), piece, label=label)
              for label, cell in (("rnn/tanh", "tanh"), ("rnn/lstm", "lstm"))}
    corpus = {label: [record_states(_tiny_model(cell), _piece(20, s)) for s in (1, 2)]
              for label, cell in (("rnn/tanh", "tanh"), ("rnn/lstm", "lstm"))}
    explorer = DynamicsExplorer(states, corpus, threshold=0.0, span=(2, 4), pad=0)
    coords, _ = dynamics.pca_project(states["rnn/tanh"].h["level0/step0"], 2)
    explorer.time.value = 9
    now = explorer.trajectory.data[-1]
    assert (now.x[0], now.y[0]) == pytest.approx((coords[9, 0], coords[9, 1]))
    assert "t = 9" in explorer.trajectory.layout.title.text
    assert [(s.x0, s.x1) for s in explorer.heatmap.layout.shapes if s.name == "now"] == [(9, 9)]
    explorer.threshold.value = 0.1
    expected = dynamics.select_units(states["rnn/tanh"].h["level0/step0"], 2, 4, 0.1)
    assert explorer.selected.tolist() == expected.tolist()
    explorer.arch.value = "rnn/lstm"
    assert explorer.layer.value == "level0/step0"
    lstm_coords, _ = dynamics.pca_project(states["rnn/lstm"].h["level0/step0"], 2)
    assert explorer.trajectory.data[-1].x[0] == pytest.approx(lstm_coords[9, 0])
    heat = next(t for t in explorer.heatmap.data if t.name == "activations")
    assert np.asarray(heat.z).shape[1] == 14
    assert [(s.x0, s.x1) for s in explorer.heatmap.layout.shapes if s.name == "now"] == [(9, 9)]  # kept
    explorer.dims.value = 3
    assert [t.type for t in explorer.trajectory.data] == ["scatter3d", "scatter3d"]
