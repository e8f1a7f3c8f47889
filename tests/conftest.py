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


def trainer_after_one_epoch(sweep, run_dir: Path, timeout: float = 300, epochs: int = 1) -> int:
    """Wait until the point in ``run_dir`` has ``epochs`` epochs in metrics.csv while ``sweep`` (a
    ``subprocess.Popen`` with text stdout) still runs; return the pid of the trainer holding the run folder's lock."""
    import time

    metrics, deadline = run_dir / "metrics.csv", time.time() + timeout
    while time.time() < deadline and sweep.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 1 + epochs:
            break
        time.sleep(0.05)
    assert sweep.poll() is None, \
        f"the process ended before {run_dir.name} had {epochs} epochs:\n{sweep.stdout.read()[-3000:]}"
    return int((run_dir / ".lock").read_text())
