"""Papermill parameters that a notebook does not declare are an error, not a silently ignored variable.

papermill injects ``-p name value`` as a cell that starts with ``# Parameters``, right after the cell tagged
``parameters``, and only warns about names that cell lacks, so ``-p hiden 9`` would run the defaults and exit 0.
``check_history`` reads IPython's input history (``In``): the injected cell, and the parameters cell that ran before
it (the nearest earlier cell with annotated assignments, ``name: type = value``), and raises one line naming the
unknown parameter and the closest declared one. The notebook lists nothing by hand; interactive use (no injected
cell) is unaffected. ``rnnlab.notebook_setup.setup_notebook`` calls it first thing in every notebook.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Sequence

from rnnlab.errors import RnnlabError

INJECTED_HEADER = "# Parameters"


def _is_injected(source) -> bool:
    return isinstance(source, str) and source.lstrip().startswith(INJECTED_HEADER)


def _parse(source) -> ast.Module | None:
    if not isinstance(source, str):
        return None
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def injected_names(history: Iterable[str]) -> list[str]:
    """Names assigned by papermill's injected cells in an input history (IPython's ``In``)."""
    names = []
    for source in history:
        tree = _parse(source) if _is_injected(source) else None
        for node in tree.body if tree else []:
            if isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def declared_names(source: str) -> list[str] | None:
    """The parameters a parameters cell declares (every top-level assignment), or None when ``source`` holds no
    annotated assignment (it is not a parameters cell)."""
    tree = _parse(source)
    if tree is None or not any(isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) for n in tree.body):
        return None
    names = []
    for node in tree.body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets if isinstance(
            node, ast.Assign) else []
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id not in names]
    return names


def parameters_cell(history: Sequence[str], before: int | None = None) -> list[str] | None:
    """Declared names of the nearest parameters cell in ``history`` before index ``before`` (default: the end), or
    None when no earlier cell declares any."""
    end = len(history) if before is None else before
    for source in reversed(list(history)[:end]):
        if not _is_injected(source):
            names = declared_names(source)
            if names is not None:
                return names
    return None


def check_names(names: Iterable[str], known: Iterable[str]) -> None:
    """Raise for the first name that is not a known parameter, suggesting the closest valid one."""
    known = sorted(set(known))
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise RnnlabError(f"unknown notebook parameter {name!r}; {hint}valid parameters: {', '.join(known)}")


def check_history(history: Sequence[str]) -> list[str] | None:
    """Refuse any name papermill injected that the parameters cell run before it does not declare (one line).

    Returns the names the notebook's parameters cell declares (the one before the last injected cell, or the
    nearest one when nothing was injected), or None when the history holds no parameters cell.
    """
    history = list(history)
    injected = [i for i, source in enumerate(history) if _is_injected(source)]
    if not injected:
        return parameters_cell(history)
    known = parameters_cell(history, before=injected[-1])
    names = injected_names(history[injected[-1]:injected[-1] + 1])
    if known is None:
        raise RnnlabError(f"papermill injected {', '.join(map(repr, names))} but the notebook has no parameters "
                          "cell (a cell tagged 'parameters' of 'name: type = value' lines) before it")
    check_names(names, known)
    return known
