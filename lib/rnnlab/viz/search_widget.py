"""The architecture search in widgets (notebook 13), a thin wrapper over ``rnnlab.search`` and its views.

- ``CellEditor``: an equations box checked on every keystroke (one line: what the cell is, or why it is not one) and
  drawn (``cells.graph.draw.graph_figure``); **train against the GRU** trains it under the name the reader gives
  (``search.compare.against_gru``), the table and bars labelled by that name;
- ``SearchLauncher``: steps, a time limit in minutes and workers; **start** runs the library's search loop
  (``search.loop.run_search``: its state file, its lock, its resumable steps) and the top list redraws after every
  step; **stop** ends it after the step under way, **new search** starts over in a fresh state file;
- ``CandidatePicker``: any candidate of the live search or of the committed one (``results/search/``) by id, drawn
  and described; an unknown id is one line (``search.views.find_candidate``).

Background work (the head-to-head and the search) runs in a daemon thread of the kernel, so the notebook stays usable
while it trains; the thread only sets widget values (it never prints) and whatever it ends with is one line in its
widget. ``wait()`` blocks until it is done and raises what it raised: headless runs (papermill, nbval, a script:
``headless()``), where nobody can press a button, start the work and wait, so their outputs are whole and
deterministic.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go
import plotly.io as pio

from rnnlab.cells.graph import parse_equations
from rnnlab.cells.graph.draw import graph_figure
from rnnlab.errors import RnnlabError
from rnnlab.search.compare import against_gru, check_cell_name
from rnnlab.search.loop import FILTER, TASKS, SearchConfig, SearchState, run_search
from rnnlab.search.views import (
    accuracy_bars,
    candidate_settings,
    equations_diff,
    equations_status,
    find_candidate,
    label,
    top_table,
)

STYLE = {"description_width": "90px"}


def headless() -> bool:
    """True when no Jupyter server started this kernel (papermill, nbval, a script): no one can press a button."""
    return "JPY_SESSION_NAME" not in os.environ


def line_html(text: str, ok: bool = True) -> str:
    """One status line: green with ✓ or red with ✗, the text escaped."""
    color, mark = ("#2b7a2b", "✓") if ok else ("#b00020", "✗")
    return f"<span style='color:{color}'>{mark} {html.escape(str(text), quote=False)}</span>"


class FigureSlot:
    """An ``Output`` widget showing one plotly figure as a static plotly output; ``show`` swaps it for another.

    Not a ``FigureWidget``: in JupyterLab 4.6 with plotly 7.1's anywidget, a ``FigureWidget`` changed in place
    before its view was rendered showed nothing of the change, and views created while Run All was going drew empty
    axes now and then (seen in this notebook and reproduced in a plain cell). An ``Output`` widget keeps the figure
    in its own state, so the figure is drawn whenever its view appears, whichever thread set it."""

    def __init__(self, figure: go.Figure | None = None):
        self.box = widgets.Output()
        self.figure = go.Figure()
        if figure is not None:
            self.show(figure)

    def show(self, figure: go.Figure) -> None:
        self.figure = figure
        bundle = {"application/vnd.plotly.v1+json": json.loads(pio.to_json(figure, validate=False)),
                  "text/plain": f"<figure: {figure.layout.title.text or 'untitled'}>"}
        self.box.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if isinstance(err, RnnlabError) else f"{type(err).__name__}: {text}"


class _Stopped(Exception):
    """Raised from a search's ``on_step`` when the reader pressed stop (the state is saved by then)."""


class Background:
    """One job at a time in a daemon thread. ``error``: the exception it ended with (None: none)."""

    def __init__(self):
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, job: Callable[[], None], on_error: Callable[[str], None]) -> None:
        if self.running:
            raise RnnlabError("still running; wait for it to finish (or press stop)")
        self.error = None

        def body():
            try:
                job()
            except _Stopped:
                pass
            except Exception as err:  # noqa: BLE001 - shown as one line in the widget; wait() raises it
                self.error = err
                on_error(_one_line(err))

        self._thread = threading.Thread(target=body, daemon=True, name="rnnlab-widget")
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the job is done; raise what it raised."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error


class CellEditor:
    """Write a cell as equations (checked and drawn as you type), then train it against the GRU under your name."""

    def __init__(self, equations: str, name: str = "mine", settings: int = 2, seed: int = 0,
                 profile: str = "search"):
        self.seed, self.profile = seed, profile
        self.text = widgets.Textarea(value=equations.strip("\n"), description="equations", continuous_update=True,
                                     layout=widgets.Layout(width="95%", height="120px"), style=STYLE)
        self.status = widgets.HTML()
        self.canonical = widgets.HTML()
        self._drawing = FigureSlot()
        self.name = widgets.Text(value=name, description="name", continuous_update=False, style=STYLE)
        self.settings = widgets.BoundedIntText(value=settings, min=1, max=100, description="settings", style=STYLE,
                                               layout=widgets.Layout(width="170px"))
        self.button = widgets.Button(description="train against the GRU", icon="play",
                                     layout=widgets.Layout(width="200px"))
        self.progress = widgets.HTML()
        self.results = widgets.HTML()
        self._bars = FigureSlot()
        self.graph = None  # the last valid graph (the one drawn)
        self.table = None  # the last head-to-head (search.compare.summarize's table)
        self.background = Background()
        self.text.observe(self.check, names="value")
        self.button.on_click(lambda _: self.start())
        self.check()
        self.widget = widgets.VBox([self.text, self.status, self.canonical, self._drawing.box,
                                    widgets.HBox([self.name, self.settings, self.button]), self.progress,
                                    self.results, self._bars.box])

    @property
    def drawing(self) -> go.Figure:
        """The drawing of the last valid cell."""
        return self._drawing.figure

    @property
    def bars(self) -> go.Figure:
        """The last head-to-head's best accuracies."""
        return self._bars.figure

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def check(self, *_) -> str:
        """Check the equations (one line in ``status``) and draw them when they make a cell; return the line."""
        graph, line = equations_status(self.text.value)
        if graph is None:
            kept = " (the drawing shows the last valid cell)" if self.graph is not None else ""
            self.status.value = line_html(line + kept, ok=False)
            return line
        self.graph = graph
        self.status.value = line_html(line)
        self.canonical.value = ("<details><summary>canonical form (how the search stores and compares graphs)"
                                f"</summary><pre>{html.escape(graph.canonical())}</pre></details>")
        self._drawing.show(graph_figure(graph, title="the cell in the box, as a graph"))
        return line

    def start(self, wait: bool = False) -> None:
        """Train the cell in the box against the GRU in the background (``wait``: block until done)."""
        text, settings = self.text.value, self.settings.value
        try:
            name = check_cell_name(self.name.value, taken=("gru",))
            graph, line = equations_status(text)
            if graph is None:
                raise RnnlabError(f"cell {name!r} is not usable: {line}")
            runs = 2 * settings * (1 + len(TASKS))
            self.progress.value = line_html(f"training {name} and gru: 0 of {runs} runs")
            done, began = [], time.time()

            def on_row(row):
                done.append(row)
                self.progress.value = line_html(
                    f"training {name} and gru: {len(done)} of {runs} runs (last: {row['cell']} on {row['task']}, "
                    f"accuracy {row['accuracy']:.3f})")

            def job():
                table = against_gru(name, text, settings, self.seed, self.profile, on_row=on_row)
                self.table = table
                self.results.value = table.drop(columns="equations").to_html(index=False, float_format="{:.3f}".format)
                self._bars.show(accuracy_bars(table))
                self.progress.value = line_html(f"{name} against the GRU: {runs} runs in {time.time() - began:.0f} s, "
                                                f"{settings} random setting(s) per cell and task")

            self.background.start(job, lambda text: setattr(self.progress, "value", line_html(text, ok=False)))
        except RnnlabError as err:
            self.progress.value = line_html(_one_line(err), ok=False)
            if wait:
                raise
            return
        if wait:
            self.background.wait()


class SearchLauncher:
    """Run the search in the background and watch its top list; the state lives in ``folder`` (a fresh temporary
    folder by default), one ``search-N/state.json`` per **new search** (N: the first unused number)."""

    def __init__(self, folder: str | Path | None = None, steps: int = 6, minutes: float = 0.0, workers: int = 1,
                 config: SearchConfig | None = None, top: int = 8):
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="rnnlab-search-"))
        self.config, self.top, self.count = config or SearchConfig(), top, 0
        self.path = self._fresh_path()
        self.steps = widgets.BoundedIntText(value=steps, min=1, max=1_000_000, description="steps", style=STYLE,
                                            layout=widgets.Layout(width="170px"))
        self.minutes = widgets.BoundedFloatText(value=minutes, min=0, max=100_000, description="minutes",
                                                tooltip="a time limit, checked between steps (0: none)", style=STYLE,
                                                layout=widgets.Layout(width="170px"))
        self.workers = widgets.BoundedIntText(value=workers, min=1, max=max(1, os.cpu_count() or 1),
                                              description="workers", style=STYLE, layout=widgets.Layout(width="170px"))
        self.start_button = widgets.Button(description="start", icon="play", layout=widgets.Layout(width="90px"))
        self.stop_button = widgets.Button(description="stop", icon="stop", layout=widgets.Layout(width="90px"))
        self.new_button = widgets.Button(description="new search", icon="plus", layout=widgets.Layout(width="120px"))
        self.headline = widgets.HTML(line_html(f"not started; state file {self.path}"))
        self.board = widgets.HTML()
        self.background = Background()
        self._stop = threading.Event()
        self._cache: tuple | None = None
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.new_button.on_click(lambda _: self.new())
        self.widget = widgets.VBox([widgets.HBox([self.steps, self.minutes, self.workers, self.start_button,
                                                  self.stop_button, self.new_button]), self.headline, self.board])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _fresh_path(self) -> Path:
        """``search-N/state.json`` for the first N whose folder does not exist yet (earlier searches stay)."""
        self.count += 1
        while (self.folder / f"search-{self.count}").exists():
            self.count += 1
        return self.folder / f"search-{self.count}" / "state.json"

    @property
    def running(self) -> bool:
        return self.background.running

    def state(self) -> SearchState | None:
        """The search as last saved (None before its first save); read without a lock, as every reader does."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        key = (self.path, stat.st_mtime_ns, stat.st_size)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, SearchState.load(self.path))
        return self._cache[1]

    def _show(self, state: SearchState, target: int, how: str) -> None:
        s = state.summary()
        self.headline.value = (f"<b>step {state.step}</b> of {target} ({how}): {s['candidates']} candidates, "
                               f"{s['children']} children, {s['passed_all']} passed every task "
                               f"({', '.join((FILTER, *TASKS))}); {s['wall_seconds']:.0f} s")
        table = top_table(state, self.top)
        self.board.value = table.to_html(index=False, na_rep="", float_format="{:.3f}".format) if len(table) else \
            "<i>no candidate has passed every task yet</i>"

    def start(self, wait: bool = False) -> None:
        """Run ``steps`` more steps (or until ``minutes`` are up, checked between steps) in the background."""
        workers, more, minutes = self.workers.value, self.steps.value, self.minutes.value
        if self.running:
            self.headline.value = line_html("the search is still running; press stop first", ok=False)
            return
        try:
            current = self.state()
        except RnnlabError as err:
            self.headline.value = line_html(_one_line(err), ok=False)
            return
        done = current.step if current is not None else 0
        target = done + more
        batch = current.config.batch if current is not None else workers
        deadline = time.time() + 60 * minutes if minutes > 0 else None
        config = None if current is not None else replace(self.config, batch=workers)
        engine = "inline" if workers == 1 else "local"
        self._stop.clear()
        note = "" if batch == workers else f"; this state proposes {batch} step(s) at a time (new search: {workers})"
        self.headline.value = line_html(f"running steps {done}..{target - 1} with {workers} worker(s){note}…")

        def on_step(state):
            self._show(state, target, "running")
            if self._stop.is_set():
                raise _Stopped

        def job():
            try:
                state = run_search(self.path, steps=target, config=config, engine=engine, workers=workers,
                                   deadline=deadline, on_step=on_step)
                how = "finished" if state.step >= target else f"time limit of {minutes:g} min"
            except _Stopped:
                state, how = self.state(), "stopped"
            self._show(state, target, how)

        self.background.start(job, lambda text: setattr(self.headline, "value", line_html(text, ok=False)))
        if wait:
            self.background.wait()

    def stop(self) -> None:
        """Stop after the step under way (its results are saved; **start** goes on from there)."""
        if self.running:
            self._stop.set()
            self.headline.value = line_html("stopping after the step under way…")

    def new(self) -> None:
        """Start over in a fresh state file (with the workers chosen now); the old file stays."""
        if self.running:
            self.headline.value = line_html("the search is still running; press stop first", ok=False)
            return
        self.path = self._fresh_path()
        self.headline.value = line_html(f"new search; state file {self.path}")
        self.board.value = ""

    def wait(self, timeout: float | None = None) -> None:
        self.background.wait(timeout)


def state_file_reader(path: str | Path) -> Callable[[], SearchState | None]:
    """A reader of a committed state file, loaded once per change of the file (None: no such file)."""
    path, cache = Path(path), {}

    def read() -> SearchState | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        if key not in cache:
            cache.clear()
            cache[key] = SearchState.load(path)
        return cache[key]

    return read


class CandidatePicker:
    """Any candidate of any of ``sources`` (name -> a function returning its state, None when it has none yet):
    its drawing, equations, parent diff and every setting it was trained with."""

    def __init__(self, sources: dict[str, Callable[[], SearchState | None]], candidate="-1", source: str | None = None):
        self.sources = dict(sources)
        self.source = widgets.Dropdown(options=list(self.sources), value=source or next(iter(self.sources)),
                                       description="search", style=STYLE, layout=widgets.Layout(width="420px"))
        self.key = widgets.Text(value=str(candidate), description="candidate", continuous_update=False, style=STYLE,
                                placeholder="an id, -1 (the fittest child), gru or lstm")
        self.reload = widgets.Button(description="reload", icon="refresh", layout=widgets.Layout(width="90px"))
        self.line = widgets.HTML()
        self.card = widgets.HTML()
        self._drawing = FigureSlot()
        self.chosen: dict | None = None
        self.source.observe(self.show, names="value")
        self.key.observe(self.show, names="value")
        self.reload.on_click(self.show)
        self.show()
        self.widget = widgets.VBox([widgets.HBox([self.source, self.key, self.reload]), self.line, self.card,
                                    self._drawing.box])

    @property
    def drawing(self) -> go.Figure:
        return self._drawing.figure

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def pick(self) -> tuple[SearchState, dict]:
        """(state, candidate) of the current choice; RnnlabError (one line) when there is none."""
        name = self.source.value
        state = self.sources[name]()
        if state is None:
            raise RnnlabError(f"{name} has no state yet (start it first)")
        return state, find_candidate(state, self.key.value, name)

    def show(self, *_) -> str:
        """Redraw for the current choice; return the status line."""
        try:
            state, chosen = self.pick()
        except RnnlabError as err:
            self.chosen = None
            self.line.value = line_html(_one_line(err), ok=False)
            self.card.value = ""
            self._drawing.show(go.Figure(layout=dict(title="no candidate chosen", height=120, template="plotly_white",
                                                     xaxis=dict(visible=False), yaxis=dict(visible=False))))
            return str(err)
        self.chosen = chosen
        fitness = state.fitness(chosen)
        text = (f"{self.source.value}: candidate {label(chosen)} (id {chosen['id']} of 0..{len(state.candidates) - 1})"
                f" — status {chosen['status']}, fitness {'—' if fitness is None else f'{fitness:.3f}'}")
        self.line.value = line_html(text)
        parent = chosen["parent"]
        diff = equations_diff(state, parent, chosen["id"]) if parent is not None else "(a seed: no parent)"
        settings = candidate_settings(state, chosen["id"])
        self.card.value = (
            f"<p>parent {'—' if parent is None else f'#{parent}'}; transforms: "
            f"{html.escape('; '.join(chosen['mutations']) or '—')}</p>"
            f"<div style='display:flex;gap:24px;flex-wrap:wrap'><div><b>equations</b><pre>"
            f"{html.escape(chosen['equations'])}</pre></div><div><b>against its parent</b><pre>{html.escape(diff)}"
            f"</pre></div></div>{settings.to_html(float_format='{:.3f}'.format)}")
        self._drawing.show(graph_figure(parse_equations(chosen["equations"]),
                                        title=f"candidate {label(chosen)} ({self.source.value})"))
        return text
