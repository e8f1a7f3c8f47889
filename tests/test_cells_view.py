"""The construction diagrams and the composer against Pascanu Table 1 (docs/papers.md §1.3), the nets' own counts and
torch's FLOP counter."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnlab.errors import RnnlabError
from rnnlab.nets.archs import ARCHS, CONSTRUCTIONS, DEPTH_KNOBS, Arch, arch_with
from rnnlab.nets.cost import flops_per_step, one_step_cost
from rnnlab.viz.cells_view import architecture_diagram, construction, diagram_boxes, preset_construction, preset_zoo
from rnnlab.viz.cells_widget import compose
from rnnlab.viz.paper_tables import PASCANU_TABLE1, printed_interval, table1_kwargs


def pascanu_formula(arch: str, n_io: int, sizes: tuple[int, ...]) -> int:
    """docs/papers.md §1.2, transcribed literally (weights only, biases excluded)."""
    n_in = n_out = n_io
    n = sizes[0]
    if arch == "rnn":
        return n_in * n + n * n + n * n_out
    if arch == "srnn":
        return n_in * n + n * n + n * n + n * n + n * n_out
    n_z = sizes[1]
    dts = n_in * n_z + n * n_z + n_z * n + n * n + n_in * n + n * n_out
    if arch == "dts-rnn":
        return dts
    n_d = sizes[2]
    return dts - n * n_out + n * n_d + n_d * n_out


@pytest.mark.parametrize("entry", PASCANU_TABLE1, ids=[f"{e[0]}-{e[2]}" for e in PASCANU_TABLE1])
def test_diagram_weights_add_up_to_pascanu_table1(entry):
    task, n_io, arch, sizes, printed = entry
    drawn = preset_construction(arch, n_io, n_io, *sizes[:1], *sizes[1:3]).n_weights
    assert drawn == pascanu_formula(arch, n_io, sizes)
    low, high = printed_interval(printed)
    assert low <= drawn < high


def test_printed_interval_reads_truncated_counts():
    assert printed_interval("465K") == (465_000, 466_000)
    assert printed_interval("1185K") == (1_185_000, 1_186_000)
    assert printed_interval("4.04M") == (4_040_000, 4_050_000)


def test_dts_wiring_is_the_groundhog_form():
    c = preset_construction("dts-rnn", 88, 88, 400, 300)
    weights = {(e.source, e.target): (e.n_in, e.n_out) for e in c.edges if e.kind != "carry"}
    assert weights == {("h_prev", "z_1"): (400, 300), ("x", "z_1"): (88, 300), ("z_1", "h"): (300, 400),
                       ("h_prev", "h"): (400, 400), ("x", "h"): (88, 400), ("h", "y"): (400, 88)}
    assert {e.name for e in c.edges if e.kind == "shortcut"} == {"S", "U<sub>2</sub>"}


def test_free_construction_counts_every_kind_of_depth():
    n_in, n_out, n, ni, nz, nd = 10, 7, 5, 4, 3, 6
    c = construction(n_in, n_out, n, input_depth=2, input_hidden=ni, transition_depth=3, transition_hidden=nz,
                     shortcut=True, output_depth=3, output_hidden=nd, levels=2)
    inputs = n_in * ni + ni * ni
    level1 = (n * nz + ni * nz) + nz * nz + nz * n + (n * n + ni * n)  # W1,U1, W2, W3, S,U2
    level2 = (n * nz + n * nz) + nz * nz + nz * n + (n * n + n * n)
    outputs = n * nd + nd * nd + nd * n_out
    assert c.n_weights == inputs + level1 + level2 + outputs


def test_diagram_draws_one_box_per_layer_and_one_arrow_per_matrix():
    c = construction(88, 88, 64, input_depth=1, transition_depth=2, shortcut=True, output_depth=2, levels=2)
    fig = architecture_diagram(c)
    layers = [n for n in c.nodes if not n.key.startswith("next")]
    assert diagram_boxes(fig) == len(layers)
    matrices = [e for e in c.edges if e.kind != "carry"]
    hover = [a.hovertext for a in fig.layout.annotations if a.hovertext]
    assert len(hover) == len(matrices)
    assert sorted(hover) == sorted(f"{e.name}: {e.n_in} × {e.n_out} = {e.n_in * e.n_out:,} weights"
                                   for e in matrices)
    total = sum(int(h.split("= ")[1].split(" ")[0].replace(",", "")) for h in hover)
    assert total == c.n_weights
    assert f"{c.n_weights:,} weights" in [a.text for a in fig.layout.annotations]


def test_zoo_diagram_holds_every_preset():
    fig = architecture_diagram(preset_zoo())
    titles = {a.text for a in fig.layout.annotations if a.text and a.text.startswith("<b>")}
    assert titles == {f"<b>{arch.label}</b>" for arch in ARCHS.values()}
    assert titles >= {"<b>RNN</b>", "<b>DT-RNN</b>", "<b>DT(S)-RNN</b>", "<b>DO-RNN</b>", "<b>DOT-RNN</b>",
                      "<b>DOT(S)-RNN</b>", "<b>sRNN</b>"}  # Pascanu's names


@pytest.mark.parametrize("kwargs, message", [
    (dict(transition_depth=1, shortcut=True), "shortcut=True needs transition_depth >= 2"),
    (dict(transition_depth=0), "transition_depth must be an integer >= 1, got 0"),
    (dict(levels=-1), "levels must be an integer >= 1, got -1"),
    (dict(input_depth=-1), "input_depth must be an integer >= 0, got -1"),
])
def test_bad_compositions_are_refused_in_one_line(kwargs, message):
    with pytest.raises(RnnlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        construction(88, 88, 32, **kwargs)
    with pytest.raises(RnnlabError):
        compose("tanh", 32, **kwargs)


def test_unknown_preset_names_the_choices():
    with pytest.raises(RnnlabError, match="unknown arch 'deep'.*dts-rnn"):
        preset_construction("deep")


@pytest.mark.parametrize("depths, arch", [
    (dict(), "rnn"), (dict(transition_depth=2), "dt-rnn"), (dict(transition_depth=2, shortcut=True), "dts-rnn"),
    (dict(output_depth=2), "do-rnn"), (dict(transition_depth=2, output_depth=2), "dot-rnn"),
    (dict(transition_depth=2, shortcut=True, output_depth=2), "dots-rnn"), (dict(levels=2), "srnn"),
])
def test_composer_picks_the_preset(depths, arch):
    assert compose("gru", 32, **depths)["arch"] == arch


# ----------------------------------------------------------------------------- against the nets (rnnlab.nets)
nets = pytest.importorskip("rnnlab.nets", reason="rnnlab.nets not importable")


@pytest.mark.parametrize("arch", list(ARCHS))
def test_built_preset_counts_equal_the_drawn_matrices(arch):
    sizes = {}
    if ARCHS[arch].deep_transition:
        sizes["transition_hidden"] = 7
    if ARCHS[arch].deep_output:
        sizes["output_hidden"] = 5
    model = nets.build_model(arch=arch, cell="tanh", n_in=20, n_out=12, hidden=9, **sizes)
    drawn = preset_construction(arch, 20, 12, 9, 7, 5, levels=2)
    assert nets.count_weights(model) == drawn.n_weights


@pytest.mark.parametrize("depths", [
    dict(transition_depth=3), dict(transition_depth=3, shortcut=True, output_depth=3), dict(levels=3),
    dict(input_depth=1), dict(input_depth=2, transition_depth=2, shortcut=True),
])
def test_composed_models_count_what_the_diagram_draws(depths):
    model = nets.build_model(**compose("tanh", 12, n_in=10, n_out=8, **depths))
    assert nets.count_weights(model) == construction(10, 8, 12, **depths).n_weights


def _combinations_without_a_preset() -> list[dict]:
    """compose() depths for every valid combination of constructions that no preset of ARCHS has (today: stacking
    together with a deep transition or a deep output)."""
    found = []
    for on in itertools.product((False, True), repeat=len(CONSTRUCTIONS)):
        flags = dict(zip(CONSTRUCTIONS, on, strict=True))
        if (flags["shortcut"] and not flags["deep_transition"]) or arch_with(**flags) is not None:
            continue
        depths = {knob: 2 if flags[flag] else 1 for flag, knob in DEPTH_KNOBS.items()}
        found.append({**depths, "shortcut": flags["shortcut"]})
    return found


def test_a_combination_no_preset_has_is_refused_not_silently_flattened():
    combinations = _combinations_without_a_preset()
    assert combinations or pytest.skip("ARCHS has a preset for every combination")
    for depths in combinations:
        with pytest.raises(RnnlabError, match=r"no preset of rnnlab.nets.ARCHS combines .*stacked.*srnn: stacked"):
            compose("tanh", 12, **depths)


def test_pascanu_table1_is_reproduced_by_the_built_models():
    from rnnlab.viz.paper_tables import pascanu_table1

    table = pascanu_table1()
    assert len(table) == 20
    assert table["matches paper"].all(), table[~table["matches paper"]]
    expected = [pascanu_formula(arch, n, sizes) for _, n, arch, sizes, _ in PASCANU_TABLE1]
    assert table["ours (weights)"].tolist() == expected == table["diagram"].tolist()
    assert table1_kwargs(10000, "srnn", (400,))["token_input"] is True


@pytest.mark.parametrize("arch, cell", [("rnn", "tanh"), ("dts-rnn", "tanh"), ("dots-rnn", "tanh"),
                                        ("srnn", "tanh"), ("rnn", "gru"), ("dt-rnn", "lstm")])
def test_flop_estimate_equals_torch_flop_counter(arch, cell):
    from torch.utils.flop_counter import FlopCounterMode

    model = nets.build_model(arch=arch, cell=cell, n_in=11, n_out=6, hidden=8, fused="never")
    steps, batch = 5, 3
    x = torch.rand(steps, batch, 11)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    assert counter.get_total_flops() == flops_per_step(model) * steps * batch


def test_one_step_cost_reports_counts_and_a_positive_time():
    model = nets.build_model(arch="dts-rnn", cell="tanh", n_in=88, n_out=88, hidden=16)
    cost = one_step_cost(model, batch_size=2, steps=4, repeats=1)
    assert cost["weights"] == nets.count_weights(model)
    assert cost["params"] == nets.count_params(model)
    assert cost["flops_per_step"] == 2 * cost["weights"]
    assert cost["ms_per_step"] > 0


def test_chung_table1_counts_follow_the_cell_equations():
    from rnnlab.viz.paper_tables import chung_table1

    def expected(cell, n, n_in):  # recurrent layer only, one bias per gate unit (rnnlab.nets.counting)
        block = n_in * n + n * n + n
        return {"tanh": block, "gru": 3 * block, "lstm_peephole": 4 * block + 3 * n}[cell]

    table = chung_table1()
    assert table["ours"].tolist() == [expected(c, n, i) for c, n, i in zip(table["cell"], table["units"],
                                                                          table["input width"], strict=True)]
    assert table["within 0.1k"].all()


def test_composer_redraws_the_diagram_and_the_counts_when_a_slider_moves():
    from rnnlab.viz.cells_widget import composer

    box = composer(hidden=16, batch_size=2)
    knobs, report, figure = box.children
    cell, width, input_depth, transition_depth, shortcut, output_depth, levels = knobs.children
    transition_depth.value = 3
    expected = construction(88, 88, 16, transition_depth=3, shortcut=True)
    assert diagram_boxes(figure) == len([n for n in expected.nodes if not n.key.startswith("next")])
    model = nets.build_model(**compose("tanh", 16, transition_depth=3, shortcut=True))
    assert f"{nets.count_weights(model):,} weights" in report.value
    transition_depth.value = 1  # the shortcut needs depth >= 2: the composer drops it instead of failing
    assert "<b>rnn</b>" in report.value
    levels.value, output_depth.value = 2, 2  # drawn, but rnnlab.nets cannot build it: said in the report
    assert "cannot build this one" in report.value and "no preset of rnnlab.nets.ARCHS combines" in report.value
    assert diagram_boxes(figure) == len([n for n in construction(88, 88, 16, output_depth=2, levels=2).nodes
                                         if not n.key.startswith("next")])


# ----------------------------------------------------------------------------- the views ask rnnlab.nets.ARCHS
def test_arch_flags_are_the_constructions_the_views_read():
    """``CONSTRUCTIONS`` (what the views and compose read) are exactly the boolean fields of ``Arch``, and each
    depth knob belongs to one of them."""
    import dataclasses

    flags = [f.name for f in dataclasses.fields(Arch) if f.type in (bool, "bool")]
    assert tuple(flags) == CONSTRUCTIONS
    assert set(DEPTH_KNOBS) <= set(CONSTRUCTIONS)


@pytest.mark.parametrize("combination", range(3))
def test_a_preset_added_to_archs_is_drawn_composed_and_built_without_touching_the_views(monkeypatch, combination):
    """Register a temporary preset (a combination of constructions no preset has, e.g. stacked levels with a deep
    transition): the zoo draws it with its constructions and title, ``preset_construction`` knows it, the composer
    picks it for its depths instead of refusing them, and the model it builds counts what the diagram draws."""
    combinations = _combinations_without_a_preset()
    if combination >= len(combinations):
        pytest.skip("ARCHS has a preset for nearly every combination")
    depths = combinations[combination]
    flags = {flag: depths[knob] > 1 for flag, knob in DEPTH_KNOBS.items()} | {"shortcut": depths["shortcut"]}
    monkeypatch.setitem(ARCHS, "new-rnn", Arch("new-rnn", "a new preset", label="NEW-RNN", **flags))
    zoo = preset_zoo(20, 12, 9, transition_hidden=9, output_hidden=9)
    assert [c.title for c in zoo] == [a.label for a in ARCHS.values()] and "NEW-RNN" in [c.title for c in zoo]
    drawn = preset_construction("new-rnn", 20, 12, 9, levels=2)
    assert drawn.n_weights == construction(20, 12, 9, **depths).n_weights
    assert "<b>NEW-RNN</b>" in {a.text for a in architecture_diagram(zoo).layout.annotations}
    kwargs = compose("tanh", 9, n_in=20, n_out=12, **depths)
    assert kwargs["arch"] == "new-rnn"
    assert {knob: kwargs.get(knob, 1) for knob in DEPTH_KNOBS.values()} == {k: depths[k] for k in DEPTH_KNOBS.values()}
    assert nets.count_weights(nets.build_model(**kwargs)) == drawn.n_weights


def test_notebook_02_lists_no_preset_by_hand():
    """Notebook 02 asks ``ARCHS`` (or the views that do): none of its code cells names two presets itself."""
    import json
    from pathlib import Path

    notebook = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "02_cells.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            text = "".join(cell["source"])
            named = [a for a in ARCHS if f'"{a}"' in text or f"'{a}'" in text]
            assert len(named) < 2, f"a code cell of notebook 02 lists presets by hand: {named}"
