"""The fault table: bad inputs and faults tried against the CLI, papermill and the run store as a demanding user
would (formerly scripts/fault_cases.py, 133 cases). A refusal must be exit status 2 with one line on stderr, no
traceback, and nothing written (a run folder's ``.lock`` aside); an accepted case must end as expected.

Only the cases no other test covers are here, each with its number in the table; ``results/fault_cases.md`` maps
every one of the 133 cases to the test that holds it (most of the others are in ``tests/test_run_integrity.py``).
Cases run in this process (``rnnlab.cli.main``) unless they need a real process (signals, resource limits,
papermill); those are marked ``slow``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnlab.cli import main as cli_main
from rnnlab.train import TrainConfig
from rnnlab.train.lock import RunLock
from rnnlab.train.runs import read_config
from rnnlab.train.trainer import Trainer
from tests import _fixtures_data

offline = _fixtures_data.offline

TASK = {"n_train": 32, "n_valid": 8, "n_test": 8, "max_digits": 2}
TINY = dict(dataset="arithmetic", hidden=8, batch_size=4, bptt=None, epochs=2, max_updates_per_epoch=3,
            max_eval_sequences=8, task_knobs=TASK, device="cpu")
ENV = {**{k: v for k, v in os.environ.items() if k not in ("RNNLAB_SMOKE", "RAY_ADDRESS")}, "OMP_NUM_THREADS": "1",
       "RNNLAB_TEST_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def flags(**over) -> list[str]:
    """The tiny run's command-line flags, ``over`` replacing some (a str is passed as typed, None drops a flag)."""
    knobs = {**TINY, **over}
    args = []
    for key, value in knobs.items():
        if key in over and value is None:
            continue
        text = value if isinstance(value, str) else (json.dumps(value) if isinstance(value, dict) else
                                                     "none" if value is None else str(value))
        args += ["--" + key.replace("_", "-"), text]
    return args


class Result:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err


def rnnlab(capsys, *args: str) -> Result:
    """``rnnlab ARGS`` in this process, as the console script runs it (an uncaught exception fails the test)."""
    capsys.readouterr()
    try:
        code = cli_main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, f"expected one line, got: {err!r}"
    return lines[0]


def refused(result: Result, fragment: str = "") -> str:
    assert result.code == 2, (result.code, result.err)
    line = one_line(result.err)
    assert fragment in line, line
    return line


def digest(folder: Path) -> dict:
    """Every path under ``folder`` (a run's ``.lock`` aside): its kind, and a file's sha256."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.name == ".lock":
            continue
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel] = ("dir",)
        else:
            out[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """One finished tiny run (seed 0, 2 epochs), copied by the cases that damage a run."""
    run_dir = tmp_path_factory.mktemp("fixture") / "base"
    Trainer(TrainConfig(**TINY), run_dir=run_dir, progress=False).fit()
    return run_dir


def copy_run(finished: Path, where: Path) -> Path:
    shutil.copytree(finished, where)
    return where


def payload(marker: Path) -> bytes:
    """A torch file whose unpickling would run ``touch marker``."""
    import io

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch '{marker}'",))

    buffer = io.BytesIO()
    torch.save({"model": Payload(), "meta": {}}, buffer)
    return buffer.getvalue()


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging the suite) when the body runs longer than ``seconds``."""
    def expire(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ---- A. bad knob values: refused in one line before anything is written
@pytest.mark.parametrize("over, fragment", [
    pytest.param({"hidden": "1e3"}, "argument --hidden: expected an integer, got '1e3'", id="c003"),
    pytest.param({"clip": 0}, "clip must be a positive number or None", id="c008"),
    pytest.param({"dropout": "1.0"}, "dropout must be a number in [0, 1), got 1.0", id="c009"),
    pytest.param({"weight_noise": "-0.5"}, "weight_noise must be a number >= 0, got -0.5", id="c010"),
    pytest.param({"seed": ""}, "argument --seed: expected an integer, got ''", id="c012"),
    pytest.param({"epochs": "3.0"}, "argument --epochs: expected an integer, got '3.0'", id="c013"),
    pytest.param({"epochs": 0}, "epochs must be an integer >= 1, got 0", id="c014"),
    pytest.param({"bptt": 0}, "bptt must be an integer >= 1, got 0", id="c015"),
    pytest.param({"checkpoint_every": 0}, "checkpoint_every must be an integer >= 1, got 0", id="c016"),
    pytest.param({"max_updates_per_epoch": 0}, "max_updates_per_epoch must be an integer >= 1, got 0", id="c017"),
    pytest.param({"decay_start_patience": 3}, "decay_start_patience=3 does not apply", id="c030"),
    pytest.param({"pretrained_lr_scale": "0.1"}, "pretrained_lr_scale=0.1 does not apply without init_from",
                 id="c031"),
    pytest.param({"task_knobs": "[1, 2]"}, "argument --task-knobs: expected a JSON object, got '[1, 2]'", id="c032"),
    pytest.param({"task_knobs": {**TASK, "n_train": -5}}, "n_train must be an integer >= 0, got -5", id="c033"),
    pytest.param({"task_knobs": {**TASK, "n_train": 1.5}}, "n_train must be an integer >= 0, got 1.5", id="c035"),
    pytest.param({"task_knobs": {**TASK, "max_digits": "two"}}, "max_digits must be an integer >= 1, got 'two'",
                 id="c036"),
    pytest.param({"device": "cuda:abc"}, "'cuda:abc'", id="c039"),
    pytest.param({"device": "tpu"}, "unknown device 'tpu'", id="c040"),
    pytest.param({"task_knobs": {**TASK, "n_test": 0}}, "has no test sequences", id="c042"),
])
def test_a_bad_knob_is_one_line_and_writes_nothing(tmp_path, capsys, over, fragment):
    refused(rnnlab(capsys, "train", *flags(**over), "--run-dir", str(tmp_path / "run")), fragment)
    assert list(tmp_path.iterdir()) == []


def test_c039_a_malformed_cuda_device_is_one_line_where_cuda_exists(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    refused(rnnlab(capsys, "train", *flags(device="cuda:abc"), "--run-dir", str(tmp_path / "run")), "'cuda:abc'")


def test_c041_a_batch_larger_than_the_training_set_still_trains(tmp_path, capsys):
    result = rnnlab(capsys, "train", *flags(batch_size=64), "--run-dir", str(tmp_path / "run"), "--quiet")
    assert result.code == 0, result.err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["updates"] > 0 and summary["best_valid"] == summary["best_valid"]


# ---- B. paths
def test_c047_a_dangling_symlink_as_run_dir_is_refused(tmp_path, capsys):
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    refused(rnnlab(capsys, "train", *flags(), "--run-dir", str(tmp_path / "link")), str(tmp_path / "link"))
    assert digest(tmp_path) == {"link": ("link", str(tmp_path / "nowhere"))}


def test_c048_a_symlink_to_a_finished_run_is_not_overwritten(tmp_path, capsys, finished):
    run = copy_run(finished, tmp_path / "run")
    (tmp_path / "link").symlink_to(run)
    before = digest(tmp_path)
    refused(rnnlab(capsys, "train", *flags(), "--run-dir", str(tmp_path / "link")), "already holds a run")
    assert digest(tmp_path) == before


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="no /sys (not Linux)")
def test_c053_a_folder_nobody_may_write_is_one_line(capsys):
    refused(rnnlab(capsys, "train", *flags(), "--run-dir", "/sys/rnnlab-fault-run"), "/sys/rnnlab-fault-run")


def test_c054_a_name_too_long_is_one_line(tmp_path, capsys):
    refused(rnnlab(capsys, "train", *flags(), "--run-dir", str(tmp_path / ("r" * 300))), "File name too long")
    assert list(tmp_path.iterdir()) == []


def test_c055_a_run_dir_with_unicode_a_space_and_a_newline_just_works(tmp_path, capsys):
    run = tmp_path / "ünï cødé\nrun"
    result = rnnlab(capsys, "train", *flags(), "--run-dir", str(run), "--quiet")
    assert result.code == 0, result.err
    assert json.loads((run / "summary.json").read_text())["status"] == "ok"


def test_c057_init_from_a_run_whose_best_pt_is_a_pickle_payload_is_refused_not_executed(tmp_path, capsys,
                                                                                      finished):
    source = copy_run(finished, tmp_path / "src")
    marker = tmp_path / "PAYLOAD_RAN"
    (source / "checkpoints" / "best.pt").write_bytes(payload(marker))
    result = rnnlab(capsys, "train", *flags(), "--init-from", str(source), "--run-dir", str(tmp_path / "child"))
    refused(result, "not a readable rnnlab checkpoint")
    assert not marker.exists() and not (tmp_path / "child").exists()


# ---- C. resume
def test_c061_c062_resume_of_a_file_or_an_empty_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "empty").mkdir()
    before = digest(tmp_path)
    refused(rnnlab(capsys, "train", "--resume", "--run-dir", str(tmp_path / "a_file")), "does not exist")
    refused(rnnlab(capsys, "train", "--resume", "--run-dir", str(tmp_path / "empty")), "has no config.json")
    assert digest(tmp_path) == before


def test_c064_resume_with_float_text_for_an_int_is_one_line(tmp_path, capsys, finished):
    run = copy_run(finished, tmp_path / "run")
    before = digest(run)
    refused(rnnlab(capsys, "train", "--resume", "--run-dir", str(run), "--epochs", "1e2"),
            "argument --epochs: expected an integer, got '1e2'")
    assert digest(run) == before


def _config_without_hidden(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "hidden"}


@pytest.mark.parametrize("damage, fragment", [
    pytest.param(lambda config: None, "holds NoneType, expected a JSON object", id="c068-null"),
    pytest.param(lambda config: "\x00\xff\xfe garbage", "is not readable JSON", id="c069-garbage"),
    pytest.param(lambda config: {**config, "lr": float("nan")}, "lr must be a finite number, got nan", id="c070-nan"),
    pytest.param(lambda config: {**config, "hidden": 9}, "belongs to another run", id="c071-hand-edited"),
    pytest.param(_config_without_hidden, "belongs to another run", id="c072-knob-missing"),
])
def test_resume_of_a_run_whose_config_is_damaged_is_one_line_and_writes_nothing(tmp_path, capsys, finished, damage,
                                                                                fragment):
    run = copy_run(finished, tmp_path / "run")
    changed = damage(json.loads((run / "config.json").read_text()))
    (run / "config.json").write_text(changed if isinstance(changed, str) else json.dumps(changed))
    before = digest(run)
    refused(rnnlab(capsys, "train", "--resume", "--run-dir", str(run), "--epochs", "3"), fragment)
    assert digest(run) == before


@pytest.mark.parametrize("damage", [
    pytest.param("summary", id="c073-torn-summary"),
    pytest.param("best payload", id="c078-best-pt-payload"),
    pytest.param("lock folder", id="c083-lock-is-a-folder"),
    pytest.param("log folder", id="c084-run-log-is-a-folder"),
    pytest.param("urandom", id="c085-last-pt-is-dev-urandom"),
])
def test_resume_of_a_damaged_run_goes_on_or_stops_in_one_line(tmp_path, capsys, finished, damage):
    run = copy_run(finished, tmp_path / "run")
    marker = tmp_path / "PAYLOAD_RAN"
    if damage == "summary":
        (run / "summary.json").write_text('{"status": "o')
    elif damage == "best payload":
        (run / "checkpoints" / "best.pt").write_bytes(payload(marker))
    elif damage in ("lock folder", "log folder"):
        name = ".lock" if damage == "lock folder" else "run.log"
        (run / name).unlink(missing_ok=True)
        (run / name).mkdir()
    elif damage == "urandom":
        (run / "checkpoints" / "last.pt").unlink()
        (run / "checkpoints" / "last.pt").symlink_to("/dev/urandom")
    with deadline(60):
        result = rnnlab(capsys, "train", "--resume", "--run-dir", str(run), "--epochs", "3", "--quiet")
    assert result.code in (0, 2), (result.code, result.err)
    if result.code == 2:
        one_line(result.err)
    else:
        assert json.loads((run / "summary.json").read_text())["epochs_run"] == 3
    assert not marker.exists()


@pytest.mark.parametrize("damage, fragment", [
    pytest.param("last random, no previous", "not a readable rnnlab checkpoint", id="c076"),
    pytest.param("checkpoints is a file", "has no checkpoint to resume from", id="c082"),
])
def test_resume_without_a_usable_checkpoint_is_one_line_and_writes_nothing(tmp_path, capsys, finished, damage,
                                                                           fragment):
    run = copy_run(finished, tmp_path / "run")
    if damage == "last random, no previous":
        (run / "checkpoints" / "last.pt").write_bytes(os.urandom(5000))
        (run / "checkpoints" / "previous.pt").unlink()
    else:
        shutil.rmtree(run / "checkpoints")
        (run / "checkpoints").write_text("oops")
    before = digest(run)
    refused(rnnlab(capsys, "train", "--resume", "--run-dir", str(run), "--epochs", "3"), fragment)
    assert digest(run) == before


# ---- D. concurrency and kills
def test_c087_resume_while_another_process_writes_the_run_is_refused(tmp_path, capsys, finished):
    run = copy_run(finished, tmp_path / "run")
    before = digest(run)
    with RunLock(run):
        refused(rnnlab(capsys, "train", "--resume", "--run-dir", str(run), "--epochs", "3000"),
                "is being written by another process")
    assert digest(run) == before


def test_c088_report_while_a_run_is_being_written(tmp_path, capsys, finished):
    live = copy_run(finished, tmp_path / "store" / "live")
    (live / "summary.json").unlink()  # a run in progress has no summary yet
    with RunLock(live):
        result = rnnlab(capsys, "report", "--root", str(tmp_path / "store"))
    assert result.code == 0 and "Traceback" not in result.err, result.err


@pytest.mark.slow
@pytest.mark.parametrize("sig", [pytest.param(signal.SIGINT, id="c090-sigint"),
                                 pytest.param(signal.SIGTERM, id="c091-sigterm")])
def test_a_run_stopped_mid_way_by_a_signal_resumes_to_a_complete_record(tmp_path, sig):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "rnnlab.cli", "train", *flags(epochs=30, patience=100), "--run-dir", str(run),
               "--quiet"]
    writer = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    end = time.time() + 120
    while time.time() < end and writer.poll() is None and not (run / "checkpoints" / "previous.pt").exists():
        time.sleep(0.02)
    assert writer.poll() is None, "the run ended before it could be stopped"
    writer.send_signal(sig)
    _, err = writer.communicate(timeout=90)
    assert "Traceback" not in err, err
    resumed = subprocess.run([sys.executable, "-m", "rnnlab.cli", "train", "--resume", "--run-dir", str(run),
                              "--quiet"], env=ENV, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["epochs_run"] == 30
    epochs = [int(line.split(",")[0]) for line in (run / "metrics.csv").read_text().strip().splitlines()[1:]]
    assert epochs == list(range(1, 31))
    assert len((run / "updates.csv").read_text().strip().splitlines()) - 1 == 90


@pytest.mark.slow
def test_c056_a_full_disk_while_checkpointing_is_one_line(tmp_path):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    result = subprocess.run([sys.executable, "-m", "rnnlab.cli", "train", *flags(), "--run-dir", str(tmp_path / "run")],
                            env=ENV, capture_output=True, text=True, timeout=180, preexec_fn=limit)
    line = one_line(result.stderr)  # the file that failed and the free space (rnnlab.files.DiskFullError)
    assert result.returncode == 2 and "could not write" in line and "file too large" in line, result.stderr
    assert ".pt'" in line and " free on its disk" in line, result.stderr
    assert "failed: could not write" in (tmp_path / "run" / "run.log").read_text()  # the log records it too


# ---- E. report
@pytest.mark.parametrize("summary, good", [
    pytest.param({"dataset": "arithmetic", "arch": "rnn", "cell": "tanh", "metric": None, "status": "ok"}, True,
                 id="c096-metric-null"),
    pytest.param({}, False, id="c097-the-only-summary-is-empty"),
])
def test_report_skips_a_summary_it_cannot_read_and_names_it(tmp_path, capsys, finished, summary, good):
    if good:
        copy_run(finished, tmp_path / "store" / "good")
    (tmp_path / "store" / "odd").mkdir(parents=True)
    (tmp_path / "store" / "odd" / "summary.json").write_text(json.dumps(summary))
    result = rnnlab(capsys, "report", "--root", str(tmp_path / "store"))
    assert result.code == 0 and "odd" in one_line(result.err) and "skipping" in result.err


def test_c101_report_csv_into_a_folder_is_one_line(tmp_path, capsys, finished):
    copy_run(finished, tmp_path / "store" / "good")
    before = digest(tmp_path)
    refused(rnnlab(capsys, "report", "--root", str(tmp_path / "store"), "--csv", str(tmp_path / "store")),
            "is a folder")
    assert digest(tmp_path) == before


# ---- F. sweep
BASE = {"dataset": "arithmetic", "hidden": 8, "batch_size": 4, "bptt": None, "epochs": 1, "max_updates_per_epoch": 2,
        "max_eval_sequences": 8, "device": "cpu", "task_knobs": TASK}


@pytest.mark.parametrize("spec, extra, fragment", [
    pytest.param(None, [], "not found; specs live in experiments/*.json", id="c102-missing"),
    pytest.param({"name": "s", "base": BASE, "grid": [1, 2]}, [], "grid must map knobs to lists of values",
                 id="c106-grid-a-list"),
    pytest.param({"name": "s", "base": {**BASE, "hiden": 8}, "grid": {"seed": [1]}}, [],
                 "base: unknown training knob 'hiden'; did you mean 'hidden'?", id="c107-misspelt-base"),
    pytest.param({"name": 5, "base": BASE, "grid": {"seed": [1]}}, [], "sweep name must be", id="c109-name-5"),
    pytest.param({"name": "", "base": BASE, "grid": {"seed": [1]}}, [], "sweep name must be", id="c110-name-empty"),
    pytest.param({"name": "s", "base": BASE, "draws": {"count": 2, "seed": 1, "knobs": {"lr": {"uniform": [1, "a"]}}}},
                 [], "uniform needs [low, high] with low < high", id="c114-uniform-text"),
    pytest.param({"name": "s", "base": BASE, "grid": {"seed": [1]}}, ["--workers", "-1"],
                 "workers must be an integer >= 1, got -1", id="c117-workers"),
    pytest.param("a folder", [], "is a directory; give a JSON file", id="c118-spec-is-a-folder"),
])
def test_a_bad_sweep_is_one_line_and_writes_nothing(tmp_path, capsys, spec, extra, fragment):
    path = tmp_path / "spec.json"
    if spec == "a folder":
        path.mkdir()
    elif spec is not None:
        path.write_text(json.dumps(spec))
    before = digest(tmp_path)
    refused(rnnlab(capsys, "sweep", str(path), "--root", str(tmp_path / "store"), "--dry-run", *extra), fragment)
    assert digest(tmp_path) == before


# ---- G. data, archs, the top level
def test_c120_fetching_a_generated_task_into_a_file_has_nothing_to_do(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    result = rnnlab(capsys, "data", "fetch", "arithmetic", "--dest", str(tmp_path / "a_file"))
    assert result.code in (0, 2) and "Traceback" not in result.err
    if result.code == 2:
        one_line(result.err)
    assert (tmp_path / "a_file").read_text() == "x"


def test_c121_c122_fetch_from_an_empty_folder_or_with_no_network_is_one_line(tmp_path, capsys, offline):
    (tmp_path / "empty").mkdir()
    refused(rnnlab(capsys, "data", "fetch", "nottingham", "--from", str(tmp_path / "empty"), "--dest",
                   str(tmp_path / "dest"), "--timeout", "1"), "none of")
    refused(rnnlab(capsys, "data", "fetch", "nottingham", "--timeout", "-1", "--dest", str(tmp_path / "dest")))
    assert not any((tmp_path / "dest").rglob("*.pickle"))


@pytest.mark.parametrize("args, fragment", [
    pytest.param(["archs", "--hidden", "0", "--cell", "tanh", "--arch", "rnn"], "hidden must be an integer >= 1, got 0",
                 id="c125"),
    pytest.param(["archs", "--hidden", "-5", "--cell", "tanh", "--arch", "rnn"], "got -5", id="c126"),
    pytest.param(["archs", "--n-in", "0", "--token-input", "--cell", "tanh", "--arch", "rnn"],
                 "n_in must be an integer >= 1, got 0", id="c128"),
    pytest.param(["archs", "--arch", ",", "--cell", "tanh"], "unknown arch ''", id="c129"),
    pytest.param(["trian"], "invalid choice: 'trian'", id="c130"),
])
def test_other_bad_command_lines_are_one_line(capsys, args, fragment):
    refused(rnnlab(capsys, *args), fragment)


# ---- H. the notebook path
def test_c132_train_notebook_into_a_finished_run_is_refused(tmp_path, capsys, finished):
    run = copy_run(finished, tmp_path / "run")
    before = digest(run)
    refused(rnnlab(capsys, "train", *flags(), "--notebook", "--run-dir", str(run)), "already holds a run")
    assert digest(run) == before


@pytest.mark.slow
def test_c133_train_notebook_with_init_from_a_path_relative_to_the_shells_cwd(tmp_path, finished):
    copy_run(finished, tmp_path / "src")
    result = subprocess.run([sys.executable, "-m", "rnnlab.cli", "train", *flags(), "--init-from", "src", "--run-dir",
                             "child", "--notebook", "--quiet"], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert read_config(tmp_path / "child").init_from == str(tmp_path / "src")
    assert (tmp_path / "child" / "03_train.ipynb").exists()


def test_the_table_in_results_names_a_test_that_exists_for_every_case():
    """results/fault_cases.md maps each of the 133 cases to tests; every test it names must exist."""
    root = Path(__file__).resolve().parents[1]
    table = (root / "results" / "fault_cases.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \|.*\|(.*)\|$", table, flags=re.M)
    assert [int(n) for n, _ in rows] == list(range(1, 134))
    for number, tests in rows:
        named = re.findall(r"`(tests/[\w/.]+)::(\w+)(?:\[[^\]]*\])?`", tests)
        assert named, f"case {number} names no test"
        for path, name in named:
            assert re.search(rf"^def {name}\(", (root / path).read_text(), flags=re.M), f"case {number}: {path}::{name}"
