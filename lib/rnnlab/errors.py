"""One error type for bad user input, and the checks that raise it.

Every message is one line that names the bad value and the valid choices, so the
CLI and notebooks can show it as is.
"""

from __future__ import annotations

from collections.abc import Iterable


class RnnlabError(ValueError):
    """Bad input or a bad setup state, explained in one line."""

    def _render_traceback_(self) -> list[str]:
        """IPython (Jupyter, papermill) shows this instead of a traceback: a notebook stops on the one line."""
        return [f"{type(self).__name__}: {self}"]


def check_choice(what: str, value, choices: Iterable) -> None:
    """Raise unless ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise RnnlabError(f"unknown {what} {value!r}; valid choices: {', '.join(map(str, choices))}")


def check_positive(what: str, value, *, allow_zero: bool = False) -> None:
    """Raise unless ``value`` is a positive (or, with ``allow_zero``, non-negative) integer."""
    ok = isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else ">= 1"
        raise RnnlabError(f"{what} must be an integer {bound}, got {value!r}")
