"""A sweep on a real Ray cluster started by the test: 3 points, one whose worker is killed mid-point and resumed.

The cluster is ``ray start --head --block`` in its own session with a private temp dir and free ports, so it
shares nothing with any other Ray instance on the machine; teardown stops exactly that process tree (``ray stop``
would stop every Ray instance of the user). Set ``RNNLAB_SKIP_RAY=1`` to skip; when the head cannot start here the
test is skipped with the reason and the tail of Ray's log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rnnlab.campaigns.spec import expand
from rnnlab.train.runs import load_metrics, read_summary
from tests.conftest import PROJECT_ROOT, alive, parent_pid, trainer_after_one_epoch

RAY = Path(sys.executable).with_name("ray")
START_TIMEOUT_S = 240
pytestmark = pytest.mark.skipif(os.environ.get("RNNLAB_SKIP_RAY", "") not in ("", "0"),
                                reason="RNNLAB_SKIP_RAY is set")

# a and b are the same run (b is the uninterrupted reference); their long memorize sequences make each
# validation pass take about a second even at smoke sizes, so a kill after epoch 1 lands inside the run.
SLOW = {"dataset": "memorize", "task_knobs": {"n_symbols": 5000, "n_train": 4, "n_valid": 4, "n_test": 4},
        "bptt": 20}
SPEC = {"name": "r", "base": {"arch": "rnn", "cell": "tanh", "optimizer": "sgd", "lr": 0.1, "clip": 1.0,
                              "epochs": 2, "hidden": 8, "batch_size": 4, "device": "cpu"},
        "models": {"a": SLOW, "b": SLOW, "c": {"dataset": "arithmetic", "bptt": None,
                                                "task_knobs": {"n_train": 32, "n_valid": 8, "n_test": 8}}}}
DETERMINISTIC = ["epoch", "train_loss", "lr", "grad_norm_mean", "grad_norm_max", "clip_events", "updates",
                 "valid_metric", "valid_nats"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_under(marker: str) -> list[int]:
    """Pids whose command line contains ``marker`` (this test's private Ray temp dir)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


@pytest.fixture(scope="module")
def ray_cluster():
    """``RAY_ADDRESS`` of a fresh 2-CPU head node; stopped (that node only) after the module."""
    if not RAY.exists():
        pytest.skip(f"ray is not installed in this environment ({RAY} missing)")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_agent_register_timeout_ms": str(START_TIMEOUT_S * 1000),
           "RAY_USAGE_STATS_ENABLED": "0"}
    deadline = time.time() + START_TIMEOUT_S
    reasons = []
    while True:  # Ray's raylet gives its agent a hard-coded 15 s on start (ray-project/ray#65983): retry a loaded box
        head, temp, text = _start_head(env, deadline)
        if "block forever" in text or time.time() > deadline - 30:
            break
        reasons.append(_last_lines(text))
        _stop_head(head, temp)
    try:
        if "block forever" not in text:
            reasons.append(_last_lines(text))
            pytest.skip(f"a local Ray head did not start within {START_TIMEOUT_S}s here ({len(reasons)} tries): "
                        f"{reasons[-1]}")
        yield {"RAY_ADDRESS": f"127.0.0.1:{head.port}", "RAY_AUTH_MODE": "disabled"}
    finally:
        _stop_head(head, temp)


def _start_head(env: dict, deadline: float):
    """``ray start --head --block`` in its own session, private temp dir and ports; waits until up or failed."""
    temp = tempfile.mkdtemp(prefix="rnl-ray-", dir="/tmp")  # short: Ray's unix socket paths must fit 107 bytes
    port = _free_port()
    with open(Path(temp) / "head.log", "w") as log:
        head = subprocess.Popen([str(RAY), "start", "--head", "--block", "--num-cpus", "2", "--num-gpus", "0",
                                 "--port", str(port), "--temp-dir", temp, "--include-dashboard", "false",
                                 "--dashboard-port", str(_free_port()),
                                 "--dashboard-agent-listen-port", str(_free_port()), "--disable-usage-stats"],
                                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    head.port = port
    text = ""
    while time.time() < deadline:
        text = (Path(temp) / "head.log").read_text(errors="replace")
        if "block forever" in text or head.poll() is not None:
            break
        time.sleep(1)
    return head, temp, text


def _stop_head(head: subprocess.Popen, temp: str) -> None:
    """Stop this head only: SIGTERM to ``ray start --block`` stops what it started; then any leftover of it."""
    if head.poll() is None:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            head.kill()
    time.sleep(1)
    for pid in _processes_under(temp):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shutil.rmtree(temp, ignore_errors=True)


def _last_lines(text: str) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-2:])


def _sweep(spec_path: Path, root: Path, cluster: dict, **popen) -> subprocess.Popen:
    env = {**os.environ, **cluster, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "rnnlab.cli", "sweep", str(spec_path), "--root", str(root),
                             "--engine", "ray", "--smoke"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **popen)


@pytest.mark.slow
def test_ray_sweep_survives_a_killed_worker_and_the_rerun_resumes_it(ray_cluster, tmp_path):
    spec_path = tmp_path / "r.json"
    spec_path.write_text(json.dumps(SPEC))
    root = tmp_path / "runs"
    points = {p.name: p for p in expand(SPEC, root=root, smoke=True)}
    a, b, c = (points[n].run_dir for n in ("a", "b", "c"))

    first = _sweep(spec_path, root, ray_cluster)
    kernel = trainer_after_one_epoch(first, a)
    assert read_summary(a) is None and alive(kernel), "point a finished before it could be killed"
    worker = parent_pid(kernel)  # the Ray worker executing the notebook
    os.kill(worker, signal.SIGKILL)
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 1, out[-3000:]
    assert "failed   a  worker died" in out, out[-3000:]
    assert "ok       b" in out and "ok       c" in out, out[-3000:]
    for word in ("hostname", "node_ip", "trial_id", "timestamp", "pid="):  # no Ray internals in the table
        assert word not in out.split("point")[-1]
    deadline = time.time() + 30
    while alive(kernel) and time.time() < deadline:  # the orphaned kernel notices its parent died
        time.sleep(0.2)
    assert not alive(kernel), "the kernel outlived its killed worker and still holds the run folder"
    assert json.loads((a / "point.json").read_text())["status"] == "failed"

    second = _sweep(spec_path, root, ray_cluster)
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out[-3000:]
    assert "started  a" in out and "started  b" not in out and "started  c" not in out, out[-3000:]
    assert "resumed from" in (a / "run.log").read_text()
    assert (a / "03_train.ipynb").exists()
    assert not list(a.parent.glob(".*.ipynb"))  # the killed worker's scratch copy went with the resumed run
    killed, reference = load_metrics(a), load_metrics(b)
    assert len(killed) == len(reference) == 2
    assert killed[DETERMINISTIC].equals(reference[DETERMINISTIC])
    summary_a, summary_b = read_summary(a), read_summary(b)
    assert summary_a["status"] == summary_b["status"] == "ok"
    assert (summary_a["best_valid"], summary_a["test"]) == (summary_b["best_valid"], summary_b["test"])
    assert read_summary(c)["status"] == "ok"
