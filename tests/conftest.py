"""Shared fixtures: where the canonical data is, and a tiny run-store root per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(int(os.environ.get("RNNLAB_TEST_THREADS", "1")))

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def canonical_data() -> Path:
    """The canonical datasets folder ($RNNLAB_DATA); skip visibly when it is absent."""
    env = os.environ.get("RNNLAB_DATA")
    if not env or not Path(env).is_dir():
        pytest.skip("canonical datasets not available: set RNNLAB_DATA to the shared data folder "
                    "(CI sets RNNLAB_DATA=../shared/data)")
    return Path(env)


@pytest.fixture()
def run_root(tmp_path) -> Path:
    return tmp_path / "runs"


def parent_pid(pid: int) -> int:
    """The parent of process ``pid`` (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux /proc)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"
