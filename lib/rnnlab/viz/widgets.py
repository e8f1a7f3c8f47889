"""Thin ipywidgets wrappers over the pure figure functions of ``dynamics.py`` and ``gradients.py``.

Each explorer holds a few controls (``continuous_update=False``: a figure is recomputed when a slider is released,
not while it moves) and plotly ``FigureWidget``s that are refreshed inside one ``batch_update`` with the figure the
pure function returns — the same figure a headless run renders statically. ``explorer.widget`` is the
ipywidgets box; displaying the explorer displays it.

``shown_label`` is the one rule for which trained model a view starts on (the explorers and the notebooks' static
figures both use it): the selection when it is one of the models, else the first model listed.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from rnnlab.errors import RnnlabError
from rnnlab.viz import dynamics, gradients

SLIDER_LAYOUT = widgets.Layout(width="460px")
STYLE = {"description_width": "110px"}


def shown_label(selection: str | None, labels: Iterable[str]) -> str:
    """Which of ``labels`` (trained models, in the order they were listed) a view shows: ``selection`` when it is one
    of them, else the first. An empty selection (None, "") picks the first quietly; a selection that names no model
    (a typo, or a model left out of the list) picks the first with a warning naming the choices."""
    labels = list(labels)
    if not labels:
        raise RnnlabError("no models to show: the list of trained models is empty")
    if selection in labels:
        return selection
    if selection:
        warnings.warn(f"{selection!r} is not among the trained models ({', '.join(labels)}); showing "
                      f"{labels[0]!r}, the first", stacklevel=2)
    return labels[0]


def refresh(widget: go.FigureWidget, figure: go.Figure) -> None:
    """Make ``widget`` show ``figure`` in one batch update: traces updated in place when they line up with the old
    ones (no flicker, small messages), replaced otherwise; the layout replaced."""
    with widget.batch_update():
        same = len(widget.data) == len(figure.data) and all(
            old.type == new.type for old, new in zip(widget.data, figure.data, strict=True))
        if same:
            for old, new in zip(widget.data, figure.data, strict=True):
                values = new.to_plotly_json()
                values.pop("type", None)
                values.pop("uid", None)
                old.update(values, overwrite=True)
        else:
            widget.data = ()
            widget.add_traces(list(figure.data))
        widget.layout = figure.layout
    # The state a view draws from when it is created. plotly syncs it only when the FigureWidget itself is displayed,
    # not as a child of a box, and the update messages above are lost while the browser still loads plotly's widget
    # code: an explorer drawn before it is shown stayed blank in JupyterLab until a control was touched.
    widget._widget_data = copy.deepcopy(widget._data)
    widget._widget_layout = copy.deepcopy(widget._layout_obj._props)


class DynamicsExplorer:
    """Hidden dynamics of several trained architectures on the same piece, LSTMVis-style.

    ``states``: label -> ``PieceStates`` of the same sequence; ``corpus``: label -> list of ``PieceStates`` searched
    for matches (e.g. the validation split). Controls: architecture, layer, time t (moves the red point along the
    PCA trajectory), threshold, brushed span and off-pad (select units whose on/off signature matches the span;
    their other firings in the corpus are listed as ranked matches). ``focus``: the architecture shown first
    (``shown_label``: the first of ``states`` when absent).
    """

    def __init__(self, states: dict[str, dynamics.PieceStates], corpus: dict[str, list] | None = None,
                 threshold: float = 0.3, span: tuple[int, int] | None = None, pad: int = 1, max_units: int = 64,
                 focus: str | None = None):
        self.states, self.corpus, self.max_units = states, corpus or {}, max_units
        shown = shown_label(focus, states)
        first = states[shown]
        steps = len(first)
        span = span or (steps // 3, min(steps - 1, steps // 3 + 3))
        self.arch = widgets.Dropdown(options=list(states), value=shown, description="architecture", style=STYLE)
        self.layer = widgets.Dropdown(options=first.recurrent_layers, value=first.top, description="layer",
                                      style=STYLE)
        self.time = widgets.IntSlider(value=0, min=0, max=steps - 1, description="time t", continuous_update=False,
                                      layout=SLIDER_LAYOUT, style=STYLE)
        self.threshold = widgets.FloatSlider(value=threshold, min=-1.0, max=1.0, step=0.05, description="threshold",
                                             continuous_update=False, layout=SLIDER_LAYOUT, style=STYLE)
        self.span = widgets.IntRangeSlider(value=span, min=0, max=steps - 1, description="brushed span",
                                           continuous_update=False, layout=SLIDER_LAYOUT, style=STYLE)
        self.pad = widgets.IntSlider(value=pad, min=0, max=8, description="off pad", continuous_update=False,
                                     layout=SLIDER_LAYOUT, style=STYLE)
        self.dims = widgets.ToggleButtons(options=[("2-D", 2), ("3-D", 3)], value=2, description="PCA",
                                          style=STYLE)
        self.summary = widgets.HTML()
        self.heatmap = go.FigureWidget()
        self.trajectory = go.FigureWidget()
        self.matches = go.FigureWidget()
        self.selected: np.ndarray = np.array([], dtype=int)
        self._draw_all()
        self.arch.observe(self._on_arch, "value")
        self.layer.observe(lambda _: self._draw_all(), "value")
        self.time.observe(lambda _: self._draw_trajectory(), "value")
        self.dims.observe(lambda _: self._draw_trajectory(), "value")
        for control in (self.threshold, self.span, self.pad):
            control.observe(lambda _: self._draw_selection(), "value")
        controls = widgets.HBox([widgets.VBox([self.arch, self.layer, self.time, self.dims]),
                                 widgets.VBox([self.threshold, self.span, self.pad])])
        self.widget = widgets.VBox([controls, self.summary, self.heatmap, self.trajectory, self.matches])

    @property
    def current(self) -> dynamics.PieceStates:
        return self.states[self.arch.value]

    def _on_arch(self, _change) -> None:
        states = self.current
        with self.layer.hold_trait_notifications():
            self.layer.options = states.recurrent_layers
            self.layer.value = states.top
        self._draw_all()

    def _activations(self) -> np.ndarray:
        return dynamics.layer_activations(self.current, self.layer.value)

    def _draw_all(self) -> None:
        self._draw_selection()
        self._draw_trajectory()

    def _draw_trajectory(self) -> None:
        states, t = self.current, self.time.value
        refresh(self.trajectory, dynamics.pca_trajectory(self._activations(), dims=self.dims.value, highlight=t,
                                                         hover=states.hover(),
                                                         title=f"{states.label} · {self.layer.value} · PCA of h_t"))
        now = dict(type="line", xref="x", yref="paper", x0=t, x1=t, y0=0, y1=1, name="now",
                   line=dict(color="#d62728", width=2, dash="dot"))
        with self.heatmap.batch_update():  # the same step marked on the heatmap
            self.heatmap.layout.shapes = [s for s in self.heatmap.layout.shapes if s.name != "now"] + [now]

    def _draw_selection(self) -> None:
        states, acts = self.current, self._activations()
        t0, t1 = self.span.value
        self.selected = dynamics.select_units(acts, t0, t1, self.threshold.value, self.pad.value, self.pad.value)
        order = np.argsort(-acts.std(axis=0), kind="stable")[: self.max_units]
        units = np.concatenate([self.selected, np.sort(np.setdiff1d(order, self.selected))])[: self.max_units]
        heatmap = dynamics.activation_heatmap(
            acts, roll=states.roll, tokens=states.tokens, units=units, span=(t0, t1), selected=self.selected,
            title=f"{states.label} · {self.layer.value}: {len(self.selected)} units on over t {t0}–{t1}")
        now = [s for s in self.heatmap.layout.shapes if s.name == "now"]
        heatmap.update_layout(shapes=list(heatmap.layout.shapes) + now)
        refresh(self.heatmap, heatmap)
        corpus = self.corpus.get(self.arch.value, [])
        layer = self.layer.value
        acts_corpus = [dynamics.layer_activations(s, layer) for s in corpus if layer in s.h]
        every = dynamics.find_matches(acts_corpus, self.selected, self.threshold.value, query_length=t1 - t0 + 1,
                                      top=None)
        table = every.head(15)
        refresh(self.matches, dynamics.matches_figure(table, acts_corpus, self.selected, all_lengths=every["length"],
                                                      hover=[s.hover() for s in corpus]))
        units_text = ", ".join(str(u) for u in self.selected[:30]) + (" …" if len(self.selected) > 30 else "")
        self.summary.value = (f"<b>{len(self.selected)}</b> units ≥ {self.threshold.value:.2f} over t {t0}–{t1} and "
                              f"below it {self.pad.value} step(s) around: [{units_text}] · <b>{len(every)}</b> "
                              f"matches in {len(acts_corpus)} pieces (best 15 shown)")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class GradientExplorer:
    """‖∂L_T/∂h_t‖ against t for the architectures picked, at a chosen checkpoint and sequence length.

    ``models``: label -> {checkpoint name -> model} (e.g. ``{"rnn/tanh": {"init": m0, "best": m1}}``);
    ``dataset``: where the windows come from (``gradients.gradient_batch``). Curves are cached per
    (architecture, checkpoint, length).
    """

    def __init__(self, models: dict[str, dict], dataset, lengths: tuple[int, int] = (10, 200), length: int = 100,
                 batch_size: int = 8, seed: int = 0):
        self.models, self.dataset, self.batch_size, self.seed = models, dataset, batch_size, seed
        checkpoints = list(dict.fromkeys(k for per in models.values() for k in per))
        self.archs = widgets.SelectMultiple(options=list(models), value=tuple(models), description="architectures",
                                            rows=min(8, len(models)), style=STYLE)
        self.length = widgets.IntSlider(value=length, min=lengths[0], max=lengths[1], step=5,
                                        description="sequence length", continuous_update=False,
                                        layout=SLIDER_LAYOUT, style=STYLE)
        self.checkpoint = widgets.ToggleButtons(options=checkpoints + ["all"], value="all", description="checkpoint",
                                                style=STYLE)
        self.figure = go.FigureWidget()
        self._cache: dict = {}
        self._draw()
        for control in (self.archs, self.length, self.checkpoint):
            control.observe(lambda _: self._draw(), "value")
        self.widget = widgets.VBox([widgets.HBox([self.archs, widgets.VBox([self.length, self.checkpoint])]),
                                    self.figure])

    def curve(self, arch: str, checkpoint: str, length: int) -> np.ndarray:
        key = (arch, checkpoint, length)
        if key not in self._cache:
            x, y = gradients.gradient_batch(self.dataset, length, self.batch_size, seed=self.seed)
            model = self.models[arch][checkpoint]
            device = next(model.parameters()).device
            curves = gradients.last_step_grad_norms(model, x.to(device), y.to(device), self.dataset.loss)
            self._cache[key] = gradients.top_layer_curve(curves)
        return self._cache[key]

    def _draw(self) -> None:
        length = self.length.value
        chosen = [c for c in self.checkpoint.options if c != "all"] if self.checkpoint.value == "all" \
            else [self.checkpoint.value]
        curves = {arch: {c: self.curve(arch, c, length) for c in chosen if c in self.models[arch]}
                  for arch in self.archs.value}
        if not curves:
            refresh(self.figure, go.Figure(layout=dict(title="pick at least one architecture")))
            return
        refresh(self.figure, gradients.gradient_flow(curves, title=f"‖∂L_T/∂h_t‖, loss on the last of {length} "
                                                                    "steps (top recurrent layer)"))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
