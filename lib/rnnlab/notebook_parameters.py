"""Papermill parameters that a notebook does not declare are an error, not a silently ignored variable.

papermill injects ``-p name value`` as a cell that starts with ``# Parameters`` and only warns about names the
notebook's ``parameters`` cell lacks, so ``-p hiden 9`` would train the defaults and exit 0. A notebook calls
``check_injected_parameters(known)`` right after its parameters: it reads the injected cell back from IPython's
input history and raises one line naming the unknown parameter and the closest valid one. Interactive use (no
injected cell) is unaffected.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable

from rnnlab.errors import RnnlabError

INJECTED_HEADER = "# Parameters"


def injected_names(history: Iterable[str]) -> list[str]:
    """Names assigned by papermill's injected cells in an input history (IPython's ``In``)."""
    names = []
    for source in history:
        if not isinstance(source, str) or not source.lstrip().startswith(INJECTED_HEADER):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def check_names(names: Iterable[str], known: Iterable[str]) -> None:
    """Raise for the first name that is not a known parameter, suggesting the closest valid one."""
    known = sorted(set(known))
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise RnnlabError(f"unknown notebook parameter {name!r}; {hint}valid parameters: {', '.join(known)}")


def check_injected_parameters(known: Iterable[str]) -> None:
    """In a running notebook: refuse any papermill parameter that the parameters cell does not declare."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    check_names(injected_names(shell.user_ns.get("In", [])), known)
