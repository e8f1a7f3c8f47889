"""A sweep's warm kernel (issue 27): the points a process runs share one kernel, reset before each, and give the
numbers a fresh kernel gives; a point that fails takes its kernel with it; a sweep's figures share one plotly.js and
carry no PNG (``rnnlab figures`` renders them on demand)."""

from __future__ import annotations

import io
import json
import re
import time

import pytest

from rnnlab.campaigns.spec import expand
from rnnlab.campaigns.sweep import run_point, run_sweep
from rnnlab.train import notebook_run
from rnnlab.train.config import TrainConfig
from rnnlab.train.runs import load_metrics, read_summary
from tests.conftest import alive
from tests.test_sweep import TINY

SAME = ["epoch", "train_loss", "lr", "grad_norm_mean", "grad_norm_max", "clip_events", "updates", "valid_metric",
        "valid_nats"]  # every column of metrics.csv but the times


def _kernel_pid(run_dir) -> int:
    """The pid of the kernel that trained the run (its trainer writes it into run.log's first line)."""
    return int(re.search(r"pid (\d+)\)", (run_dir / "run.log").read_text().splitlines()[0]).group(1))


def _execution_counts(run_dir) -> list:
    cells = json.loads((run_dir / notebook_run.NOTEBOOK).read_text())["cells"]
    return [c.get("execution_count") for c in cells if c["cell_type"] == "code"]


@pytest.mark.slow
def test_points_share_a_warm_kernel_give_a_fresh_kernels_numbers_and_a_failure_takes_the_kernel(tmp_path):
    spec = {"name": "w", "base": TINY,
            "models": {"a": {}, "b": {"lr": 0.05, "seed": 3}, "f": {}, "c": {"lr": 0.02}}}
    points = {p.name: p for p in expand(spec, root=tmp_path / "runs", smoke=True)}  # make test: RNNLAB_SMOKE=1
    f = points["f"].run_dir  # a folder holding its own record and a damaged checkpoint: fails when resumed
    (f / "checkpoints").mkdir(parents=True)
    (f / "config.json").write_text(TrainConfig(**points["f"].knobs).to_json())
    (f / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")

    rows = run_sweep(spec, root=tmp_path / "runs", smoke=True, engine="inline", stream=io.StringIO())
    assert {r["point"]: r["status"] for r in rows} == {"a": "ok", "b": "ok", "f": "failed", "c": "ok"}, rows
    a, b, c = (points[name].run_dir for name in "abc")
    assert _kernel_pid(a) == _kernel_pid(b), "b ran in a's kernel"
    assert _kernel_pid(c) != _kernel_pid(a), "the failed point f took its kernel with it: c got a fresh one"
    assert notebook_run._WARM is None  # an inline sweep closes its kernel at the end
    deadline = time.time() + 30
    while (alive(_kernel_pid(a)) or alive(_kernel_pid(c))) and time.time() < deadline:
        time.sleep(0.2)
    assert not alive(_kernel_pid(a)) and not alive(_kernel_pid(c)), "a kernel outlived its sweep"

    # b again, alone in a fresh kernel (every point ran so before): the same numbers, cell by cell the same notebook
    fresh = tmp_path / "fresh" / "b"
    record = run_point({"name": "b", "run_dir": str(fresh), "knobs": points["b"].knobs, "smoke": True,
                        "warm": False})
    assert record["status"] == "ok", record["message"]
    assert _kernel_pid(fresh) not in (_kernel_pid(a), _kernel_pid(c))
    assert load_metrics(fresh)[SAME].equals(load_metrics(b)[SAME])
    assert load_metrics(fresh, "updates")["loss"].equals(load_metrics(b, "updates")["loss"])
    warm_summary, fresh_summary = read_summary(b), read_summary(fresh)
    assert (warm_summary["best_valid"], warm_summary["test"]) == (fresh_summary["best_valid"], fresh_summary["test"])
    assert _execution_counts(b) == _execution_counts(fresh) == list(range(1, len(_execution_counts(b)) + 1))

    # one plotly.js for the whole sweep, in its folder; each point's figure is HTML only and loads that one
    sweep_dir = tmp_path / "runs" / "w-smoke"
    assert sorted(p.relative_to(sweep_dir).as_posix() for p in sweep_dir.rglob("plotly.min.js")) == ["plotly.min.js"]
    for run in (a, b, c):
        assert sorted(p.name for p in (run / "figures").iterdir()) == ["learning_curves.html"]
        source = re.search(r'<script charset="utf-8" src="([^"]+)"', (run / "figures" / "learning_curves.html")
                           .read_text()).group(1)
        assert (run / "figures" / source).resolve() == (sweep_dir / "plotly.min.js").resolve()


class _Kernel(notebook_run.WarmKernel):
    """A WarmKernel that starts no process: the rule of when a kernel is kept, without the cost of one."""

    closed: list = []

    def __init__(self, cwd, kernel_name):
        import os

        self.cwd, self.kernel_name, self.env, self.executions = str(cwd), kernel_name, dict(os.environ), 0

    def alive(self) -> bool:
        return self not in self.closed

    def close(self) -> None:
        self.closed.append(self)


def test_a_warm_kernel_is_kept_only_while_folder_kernel_and_environment_stay_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook_run, "WarmKernel", _Kernel)
    monkeypatch.setattr(notebook_run, "_register_warm_engine", lambda: None)
    monkeypatch.setattr(notebook_run, "_WARM", None)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    first = notebook_run.warm_kernel(tmp_path, "python3")
    assert notebook_run.warm_kernel(tmp_path, "python3") is first
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # Ray gave this task another GPU
    second = notebook_run.warm_kernel(tmp_path, "python3")
    assert second is not first and first in _Kernel.closed
    assert notebook_run.warm_kernel(tmp_path / "other", "python3") is not second and second in _Kernel.closed
    third = notebook_run._WARM
    assert notebook_run.warm_kernel(tmp_path / "other", "python3") is third
    _Kernel.closed.append(third)  # died (killed, out of memory): replaced
    assert notebook_run.warm_kernel(tmp_path / "other", "python3") is not third
    notebook_run.close_warm_kernel()
    assert notebook_run._WARM is None


def test_a_warm_kernel_that_dies_while_starting_is_started_again_and_the_last_failure_is_raised(monkeypatch):
    """Two workers starting kernels at once can pick the same TCP port: the kernel that loses dies while starting
    (nbclient raises RuntimeError); start_warm_kernel tries again, up to KERNEL_STARTS times, then raises."""
    tries = []

    class Dying:
        def __init__(self, cwd, kernel_name, fail=2):
            tries.append(kernel_name)
            if len(tries) <= fail:
                raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(notebook_run, "WarmKernel", Dying)
    kernel = notebook_run.start_warm_kernel("here", "python3")
    assert isinstance(kernel, Dying) and len(tries) == 3
    tries.clear()
    monkeypatch.setattr(notebook_run, "WarmKernel", lambda cwd, name: Dying(cwd, name, fail=99))
    with pytest.raises(RuntimeError, match="died before replying"):
        notebook_run.start_warm_kernel("here", "python3", tries=4)
    assert len(tries) == 4
