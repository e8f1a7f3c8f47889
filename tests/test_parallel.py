"""The worker pool at the edges: workers and multiprocessing's resource tracker die with a driver killed outright,
and a Ray address where nothing listens is one line within seconds.

Every test here uses real processes and reads /proc (Linux); the pool's jobs are ``time.sleep`` (importable, so the
``local`` engine can ship it), so nothing trains.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnlab.errors import RnnlabError
from rnnlab.parallel import WorkerPool, _check_reachable
from tests.conftest import PROJECT_ROOT, alive

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

GONE_WITHIN_S = 5
# A driver: a local pool of N workers, each given a job of `busy` seconds (0: no job, the workers wait for one after a
# first quick job), then it prints its workers' pids and waits for the pool forever.
DRIVER = """
import os, sys, time
from rnnlab.parallel import WorkerPool
if __name__ == "__main__":
    workers, busy = int(sys.argv[1]), float(sys.argv[2])
    with WorkerPool("local", workers) as pool:
        jobs = [pool.submit(time.sleep, 0) for _ in range(workers)]
        for _ in jobs:
            pool.next_finished()
        if busy:
            for _ in range(workers):
                pool.submit(time.sleep, busy)
        print("READY", flush=True)
        while True:
            if pool.pending:
                pool.next_finished()
            else:
                time.sleep(1)
"""


def _children(pid: int) -> list[int]:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(proc.name))
    return out


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "(gone)"


def _wait_gone(pids: list[int], within: float) -> list[int]:
    deadline = time.time() + within
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def _start_driver(tmp_path, workers: int, busy: float) -> tuple[subprocess.Popen, list[int]]:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    driver = subprocess.Popen([sys.executable, str(script), str(workers), str(busy)], cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert driver.stdout.readline().strip() == "READY"
    time.sleep(0.5)
    family = _descendants(driver.pid)
    kinds = [_cmdline(p) for p in family]
    assert sum("spawn_main" in k for k in kinds) == workers, kinds
    assert any("resource_tracker" in k for k in kinds), kinds
    return driver, family


@pytest.mark.parametrize("workers,busy", [(1, 600), pytest.param(2, 600, marks=pytest.mark.slow),
                                          pytest.param(2, 0, marks=pytest.mark.slow)],
                         ids=["1-busy", "2-busy", "2-idle"])
def test_a_driver_killed_outright_takes_its_workers_and_resource_tracker_with_it(tmp_path, workers, busy):
    driver, family = _start_driver(tmp_path, workers, busy)
    driver.kill()  # kill -9: no handler, no cleanup in the driver
    driver.wait(timeout=10)
    left = _wait_gone(family, GONE_WITHIN_S)
    assert not left, f"outlived the killed driver: {[_cmdline(p) for p in left]}"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_driver_ended_by_a_signal_stops_its_workers_and_resource_tracker(tmp_path, signum):
    driver, family = _start_driver(tmp_path, 2, 600)
    driver.send_signal(signum)
    driver.wait(timeout=30)
    left = _wait_gone(family, GONE_WITHIN_S)
    assert not left, f"outlived the driver ended by {signum.name}: {[_cmdline(p) for p in left]}"


@pytest.mark.slow
def test_workers_started_off_the_main_thread_still_watch_their_driver(tmp_path):
    """Off the main thread no parent-death signal is asked for (it would fire when that thread ends); the watchdog
    alone ends the workers."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.replace('if __name__ == "__main__":', 'def run():').replace(
        "while True:", "while True:  # noqa") + """
if __name__ == "__main__":
    import threading
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
""")
    driver = subprocess.Popen([sys.executable, str(script), "1", "600"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    assert driver.stdout.readline().strip() == "READY"
    time.sleep(0.5)
    family = _descendants(driver.pid)
    assert any("spawn_main" in _cmdline(p) for p in family)
    driver.kill()
    driver.wait(timeout=10)
    left = _wait_gone(family, GONE_WITHIN_S)
    assert not left, [_cmdline(p) for p in left]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("form", ["{host}:{port}", "ray://{host}:{port}"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_ray_address_where_nothing_listens_is_one_line_within_seconds(form, host):
    address = form.format(host=host, port=_free_port())
    start = time.time()
    with pytest.raises(RnnlabError, match="cannot reach the Ray cluster at .*nothing listens") as err:
        with WorkerPool("ray", 1, address=address):
            pass
    assert time.time() - start < 10 and "\n" not in str(err.value) and address in str(err.value)


@pytest.mark.parametrize("address", ["nohost", "host:", "host:port", ":6379", "host:0", "host:70000", "ray://"])
def test_a_ray_address_of_the_wrong_form_is_one_line_naming_the_forms(address):
    with pytest.raises(RnnlabError, match=r"must be HOST:PORT .*ray://HOST:PORT, auto or local"):
        _check_reachable(address)


def test_a_listening_port_passes_the_knock():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        _check_reachable(f"127.0.0.1:{server.getsockname()[1]}")


@pytest.mark.slow
@pytest.mark.parametrize("where", ["--address", "RAY_ADDRESS"])
def test_sweep_on_an_unreachable_ray_cluster_is_one_line_exit_2_and_writes_nothing(tmp_path, where):
    spec = tmp_path / "spec.json"
    spec.write_text('{"name": "r", "base": {"dataset": "arithmetic"}, "grid": {"seed": [0, 1]}}')
    address = f"127.0.0.1:{_free_port()}"
    command = [sys.executable, "-m", "rnnlab.cli", "sweep", str(spec), "--root", str(tmp_path / "runs"), "--smoke",
               "--engine", "ray"] + (["--address", address] if where == "--address" else [])
    env = {**os.environ, **({"RAY_ADDRESS": address} if where == "RAY_ADDRESS" else {})}
    start = time.time()
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0 and "cannot reach the Ray cluster" in done.stderr
    assert time.time() - start < 60
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_sweep_killed_outright_mid_point_leaves_no_worker_kernel_or_tracker(tmp_path):
    """The whole family of a real `rnnlab sweep` (pool workers, the points' notebook kernels, the resource tracker)
    is gone within seconds of a kill -9 of the sweep's own process."""
    import json

    from rnnlab.campaigns.spec import expand
    from tests.conftest import trainer_after_one_epoch

    slow = {"dataset": "memorize", "task_knobs": {"n_symbols": 5000, "n_train": 4, "n_valid": 4, "n_test": 4},
            "bptt": 20, "epochs": 50}
    spec = {"name": "k", "base": {"arch": "rnn", "cell": "tanh", "optimizer": "sgd", "lr": 0.1, "clip": 1.0,
                                  "hidden": 8, "batch_size": 4, "device": "cpu", **slow}, "grid": {"seed": [0]}}
    path, root = tmp_path / "spec.json", tmp_path / "runs"
    path.write_text(json.dumps(spec))
    (point,) = expand(spec, root=root, smoke=True)
    sweep = subprocess.Popen([sys.executable, "-m", "rnnlab.cli", "sweep", str(path), "--root", str(root), "--smoke",
                              "--workers", "1"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    kernel = trainer_after_one_epoch(sweep, point.run_dir)
    family = _descendants(sweep.pid)
    kinds = [_cmdline(p) for p in family]
    assert kernel in family and any("spawn_main" in k for k in kinds) and any("resource_tracker" in k for k in kinds)
    sweep.kill()
    sweep.wait(timeout=10)
    left = _wait_gone(family, 3 * GONE_WITHIN_S)  # the kernel polls its parent once a second or so
    assert not left, f"outlived the killed sweep: {[_cmdline(p) for p in left]}"
