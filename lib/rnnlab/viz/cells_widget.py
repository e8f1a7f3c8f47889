"""The composer: any combination of Pascanu et al.'s four kinds of depth, drawn and built.

- ``compose``: ``build_model`` keyword arguments for a free combination of depths (the preset whose kinds of depth
  are active, plus the depths themselves);
- ``composer``: sliders for input depth, transition depth, shortcut, output depth and stacking (and the cell and
  width); the diagram (:mod:`rnnlab.viz.cells_view`) redraws and the model is built to show its parameters and its
  one-step cost (measured ms and the FLOP estimate, :mod:`rnnlab.nets.cost`).
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import plotly.graph_objects as go

from rnnlab.cells import CELLS
from rnnlab.errors import RnnlabError
from rnnlab.nets import build_model
from rnnlab.nets.cost import one_step_cost
from rnnlab.viz.cells_view import architecture_diagram, construction


def compose(cell: str = "tanh", hidden: int = 128, *, input_depth: int = 0, transition_depth: int = 1,
            shortcut: bool = False, output_depth: int = 1, levels: int = 1, n_in: int = 88, n_out: int = 88,
            nonlinearity: str = "tanh") -> dict:
    """``build_model`` keyword arguments for a free combination of depths: the preset whose kinds of depth are
    active, plus the depths themselves. ``rnnlab.nets`` stacks plain levels only, so stacking together with a deep
    transition or output raises RnnlabError (the diagram of such a construction can still be drawn)."""
    construction(n_in, n_out, hidden, input_depth=input_depth, transition_depth=transition_depth,
                 shortcut=shortcut, output_depth=output_depth, levels=levels)  # validates the knobs
    deep_t, deep_o = transition_depth > 1, output_depth > 1
    if levels > 1 and (deep_t or deep_o):
        raise RnnlabError(f"levels={levels} with transition_depth={transition_depth} and output_depth={output_depth}: "
                          "rnnlab.nets stacks plain levels only (Pascanu's sRNN); use levels=1 for a deep "
                          "transition or output, or depths of 1 to stack")
    if levels > 1:
        arch = "srnn"
    elif deep_t and deep_o:
        arch = "dots-rnn" if shortcut else "dot-rnn"
    elif deep_t:
        arch = "dts-rnn" if shortcut else "dt-rnn"
    elif deep_o:
        arch = "do-rnn"
    else:
        arch = "rnn"
    kwargs = {"arch": arch, "cell": cell, "n_in": n_in, "n_out": n_out, "hidden": hidden,
              "nonlinearity": nonlinearity}
    if input_depth:
        kwargs["input_depth"] = input_depth
    if deep_t:
        kwargs["transition_depth"] = transition_depth
    if deep_o:
        kwargs["output_depth"] = output_depth
    if levels > 1:
        kwargs["levels"] = levels
    return kwargs


def composer(cells: list[str] | None = None, hidden: int = 128, n_in: int = 88, n_out: int = 88,
             batch_size: int = 16) -> widgets.VBox:
    """Compose a deep RNN interactively (``continuous_update=False``: rebuilds on release)."""
    cells = cells or list(CELLS)
    style = {"description_width": "110px"}

    def slider(description, value, low, high):
        return widgets.IntSlider(value=value, min=low, max=high, description=description, continuous_update=False,
                                 style=style)

    knobs = {
        "input_depth": slider("input depth", 0, 0, 3),
        "transition_depth": slider("transition depth", 2, 1, 4),
        "shortcut": widgets.Checkbox(value=True, description="shortcut (S)", style=style),
        "output_depth": slider("output depth", 1, 1, 3),
        "levels": slider("levels (stack)", 1, 1, 3),
    }
    cell = widgets.Dropdown(options=cells, value="tanh" if "tanh" in cells else cells[0], description="cell",
                            style=style)
    width = widgets.IntSlider(value=hidden, min=16, max=512, step=16, description="hidden", continuous_update=False,
                              style=style)
    report = widgets.HTML()
    figure = go.FigureWidget(go.Figure())

    def redraw(*_):
        depths = {name: knob.value for name, knob in knobs.items()}
        depths["shortcut"] = depths["shortcut"] and depths["transition_depth"] >= 2  # nothing to skip at depth 1
        fresh = architecture_diagram(construction(n_in, n_out, width.value, **depths))
        with figure.batch_update():
            figure.data = []
            figure.add_traces(list(fresh.data))
            figure.layout = fresh.layout
        try:
            kwargs = compose(cell.value, width.value, n_in=n_in, n_out=n_out, **depths)
            model = build_model(**kwargs)
        except RnnlabError as err:
            report.value = f"<span style='color:#b00'>cannot build this one: {html.escape(str(err))}</span>"
            return
        cost = one_step_cost(model, batch_size=batch_size, steps=20, repeats=2)
        report.value = (f"<b>{kwargs['arch']}</b> with <b>{cell.value}</b> cells: "
                        f"{cost['weights']:,} weights, {cost['params']:,} parameters; "
                        f"{cost['flops_per_step'] / 1e6:.2f} MFLOP per step and sequence (2 per weight); "
                        f"measured {cost['ms_per_step']:.3f} ms per time step at batch {batch_size} (forward)")

    for knob in (*knobs.values(), cell, width):
        knob.observe(redraw, names="value")
    redraw()
    left = widgets.VBox([cell, width, *knobs.values()])
    return widgets.VBox([left, report, figure])
