"""Where the project keeps data, runs and figures."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """``$RNNLAB_DATA`` if set (a relative path counts from the project root, wherever a notebook runs), else
    ``data/`` at the project root."""
    env = os.environ.get("RNNLAB_DATA")
    if not env:
        return PROJECT_ROOT / "data"
    path = Path(env)
    return (path if path.is_absolute() else PROJECT_ROOT / path).resolve()


def cache_dir() -> Path:
    """Writable cache for derived files (always under the project's ``data/``)."""
    path = Path(os.environ.get("RNNLAB_CACHE", PROJECT_ROOT / "data" / "cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Default root of the run store (``runs/``, git-ignored)."""
    return Path(os.environ.get("RNNLAB_RUNS", PROJECT_ROOT / "runs"))


def figures_dir() -> Path:
    return PROJECT_ROOT / "figures"


def smoke_from_env() -> bool:
    """True when ``RNNLAB_SMOKE=1``: the test suite runs every notebook in its smoke profile."""
    return os.environ.get("RNNLAB_SMOKE", "") not in ("", "0", "false", "False")
