"""Views of a search state (pure functions: a state in, a DataFrame, a text or a plotly figure out).

``find_candidate`` turns what a reader types (an id, ``#12``, a seed's name, -1 or ``best``) into a candidate or one
line naming the valid ids; ``candidate_card`` and ``candidate_settings`` describe it; ``equations_status`` says in one
line whether a text makes a usable cell. The notebook's widgets (``rnnlab.viz.search_widget``) wrap these.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from rnnlab.cells.graph import Graph, parse_equations, validity_problem
from rnnlab.errors import RnnlabError
from rnnlab.search.loop import FILTER, SEEDS, TASKS, SearchState

STATUS_COLORS = {"passed": "#2ca02c", f"rejected:{FILTER}": "#c7c7c7", "rejected:arithmetic": "#ff7f0e",
                 "rejected:xml": "#d62728"}


def label(candidate: dict) -> str:
    return candidate["name"] or f"#{candidate['id']}"


def top_table(state: SearchState, n: int = 10) -> pd.DataFrame:
    """The top list: rank, candidate, fitness, best accuracy per task, evaluations, size, parent, transforms."""
    rows = []
    for rank, c in enumerate(state.top()[:n], 1):
        rows.append(dict(rank=rank, candidate=label(c), fitness=round(state.fitness(c), 3),
                         **{t: c["best"].get(t) for t in (FILTER, *TASKS)}, evaluations=len(c["evaluations"]),
                         operations=parse_equations(c["equations"]).n_operations(),
                         parent=None if c["parent"] is None else f"#{c['parent']}",
                         transforms="; ".join(c["mutations"])))
    return pd.DataFrame(rows)


def candidate_table(state: SearchState, candidate_id: int) -> pd.DataFrame:
    """Every evaluation of one candidate: step, task, each setting's hyperparameters and accuracy."""
    c = state.candidates[candidate_id]
    rows = []
    for evaluation in c["evaluations"]:
        for task, scores in evaluation["scores"].items():
            for hp, acc in zip(evaluation["settings"][task], scores, strict=False):
                rows.append(dict(step=evaluation["step"], task=task, accuracy=acc, lr=hp["lr"], init=hp["init"],
                                 clip=hp["clip"], seed=hp["seed"]))
    return pd.DataFrame(rows)


def history_figure(state: SearchState) -> go.Figure:
    """Every candidate by step: its fitness where it passed every task, else where it was rejected (at 0)."""
    fig = go.Figure()
    for status, color in STATUS_COLORS.items():
        members = [c for c in state.candidates if c["status"] == status]
        if not members:
            continue
        y = [state.fitness(c) if status == "passed" else 0.0 for c in members]
        fig.add_trace(go.Scatter(x=[c["step"] for c in members], y=y, mode="markers", name=status,
                                 marker=dict(color=color, size=7),
                                 text=[f"{label(c)}<br>{c['equations'].replace(chr(10), '<br>')}" for c in members],
                                 hoverinfo="text"))
    fig.add_hline(y=1.0, line_dash="dot", annotation_text="GRU")
    fig.update_layout(title="search history: fitness (min over tasks of accuracy ÷ GRU's) per candidate",
                      xaxis_title="step", yaxis_title="fitness", template="plotly_white", height=380)
    return fig


def accuracy_bars(table: pd.DataFrame) -> go.Figure:
    """Bars of the best accuracy per task of every cell in a comparison table (``rnnlab.search.compare``)."""
    fig = go.Figure()
    for cell, group in table.groupby("cell", sort=False):
        fig.add_trace(go.Bar(x=group["task"], y=group["best"], name=cell))
    fig.update_layout(barmode="group", title="best accuracy per task (same random settings for every cell)",
                      yaxis_title="accuracy", template="plotly_white", height=360)
    return fig


def equations_diff(state: SearchState, a: int, b: int) -> str:
    """A unified diff of two candidates' canonical equations (e.g. a child against its parent)."""
    import difflib

    first, second = state.candidates[a], state.candidates[b]
    lines = difflib.unified_diff(first["equations"].splitlines(), second["equations"].splitlines(),
                                 fromfile=label(first), tofile=label(second), lineterm="")
    return "\n".join(lines) or "(identical)"


BEST = ("-1", "best")  # what picks the fittest child (the top of the list when no child passed)


def find_candidate(state: SearchState, key, source: str = "the search") -> dict:
    """The candidate ``key`` names: its id (an int, ``"12"`` or ``"#12"``), a seed's name (``gru``, ``lstm``), or
    -1 / ``"best"``: the fittest child (the top of the list when no child passed every task). Anything else is one
    line naming ``source`` and the valid ids."""
    text = str(key).strip().lstrip("#").lower()
    n = len(state.candidates)
    if not n:
        raise RnnlabError(f"{source} holds no candidate yet (it has run {state.step} steps); wait for its first step")
    if text in BEST:
        children = [c for c in state.top() if c["kind"] == "child"]
        ranked = children or state.top()
        if not ranked:
            raise RnnlabError(f"{source} has no candidate that passed every task yet; give an id 0..{n - 1}")
        return ranked[0]
    named = state.by_name(text) if text in SEEDS else None
    if named is not None:
        return named
    valid = f"ids 0..{n - 1}, -1 (the fittest child) or a seed's name ({', '.join(SEEDS)})"
    if not (text.isascii() and text.isdigit()):
        raise RnnlabError(f"candidate {str(key)!r} is no candidate id of {source}; valid: {valid}")
    if int(text) >= n:
        raise RnnlabError(f"no candidate {int(text)} in {source} (it holds {n}); valid: {valid}")
    return state.candidates[int(text)]


def candidate_card(state: SearchState, candidate: dict) -> str:
    """One candidate in Markdown: name, status, fitness, parent, transforms and its equations as stored."""
    fitness = state.fitness(candidate)
    parent = "—" if candidate["parent"] is None else f"#{candidate['parent']}"
    return (f"**candidate {label(candidate)}** — status {candidate['status']}, fitness "
            f"{'—' if fitness is None else f'{fitness:.3f}'}, parent {parent}, transforms: "
            f"{'; '.join(candidate['mutations']) or '—'}\n```\n{candidate['equations']}\n```")


def candidate_settings(state: SearchState, candidate_id: int) -> pd.DataFrame:
    """Accuracy per task over every setting the candidate was trained with (count, mean, spread, best)."""
    return candidate_table(state, candidate_id).groupby(["task"]).accuracy.describe()


def equations_status(text: str) -> tuple[Graph | None, str]:
    """(the graph, a one-line summary) when ``text`` makes a usable cell, else (None, the one-line reason)."""
    try:
        graph = parse_equations(text)
        problem = validity_problem(graph)
    except RnnlabError as err:
        problem = str(err)
    if problem is not None:
        return None, " ".join(problem.split())
    states = "two states (h, c)" if graph.n_states == 2 else "one state (h)"
    return graph, f"a valid cell: {graph.n_operations()} operations, {graph.n_linear()} weight matrices, {states}"
