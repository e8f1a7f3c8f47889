"""The composer: any combination of Pascanu et al.'s four kinds of depth, drawn and built.

- ``compose``: ``build_model`` keyword arguments for a free combination of depths (the preset of
  ``rnnlab.nets.ARCHS`` whose kinds of depth are active, plus the depths themselves);
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
from rnnlab.nets import ARCHS, build_model
from rnnlab.nets.archs import DEPTH_KNOBS, arch_with
from rnnlab.nets.cost import one_step_cost
from rnnlab.viz.cells_view import architecture_diagram, construction


def compose(cell: str = "tanh", hidden: int = 128, *, input_depth: int = 0, transition_depth: int = 1,
            shortcut: bool = False, output_depth: int = 1, levels: int = 1, n_in: int = 88, n_out: int = 88,
            nonlinearity: str = "tanh") -> dict:
    """``build_model`` keyword arguments for a free combination of depths: the preset of ``rnnlab.nets.ARCHS`` whose
    constructions are exactly the active ones (asked there, so a new preset is composed without a change here), plus
    the depths themselves. A combination no preset has (e.g. stacking with a deep transition) raises RnnlabError
    naming the presets (the diagram of such a construction can still be drawn)."""
    construction(n_in, n_out, hidden, input_depth=input_depth, transition_depth=transition_depth,
                 shortcut=shortcut, output_depth=output_depth, levels=levels)  # validates the knobs
    depths = {"transition_depth": transition_depth, "output_depth": output_depth, "levels": levels}
    active = {flag: depths[knob] > 1 for flag, knob in DEPTH_KNOBS.items()}
    arch = arch_with(shortcut=shortcut, **active)
    if arch is None:
        wanted = " + ".join(flag.replace("_", " ") for flag, on in {**active, "shortcut": shortcut}.items() if on)
        presets = "; ".join(f"{name}: {' + '.join(f.replace('_', ' ') for f, on in a.constructions.items() if on)}"
                            for name, a in ARCHS.items() if any(a.constructions.values()))
        raise RnnlabError(f"levels={levels}, transition_depth={transition_depth}, output_depth={output_depth}: no "
                          f"preset of rnnlab.nets.ARCHS combines {wanted} (the presets: {presets})")
    kwargs = {"arch": arch, "cell": cell, "n_in": n_in, "n_out": n_out, "hidden": hidden,
              "nonlinearity": nonlinearity}
    if input_depth:
        kwargs["input_depth"] = input_depth
    for flag, knob in DEPTH_KNOBS.items():
        if active[flag]:
            kwargs[knob] = depths[knob]
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
