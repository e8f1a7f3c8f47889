"""Sweeps: the spec format (datasets x models x grid x draws, dependencies) and real local sweeps.

Every point of a real sweep is a papermill execution of notebooks/03_train.ipynb in its own process; sizes are the
smoke caps, so one point costs a few CPU seconds (mostly the kernel's start).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from rnnlab.campaigns.results import publish
from rnnlab.campaigns.spec import expand, load_spec, parent_points, point_name
from rnnlab.campaigns.sweep import format_table, run_sweep, select, sweep_states
from rnnlab.cli import main as cli_main
from rnnlab.errors import RnnlabError
from rnnlab.train.config import TrainConfig
from rnnlab.train.lock import RunLock
from rnnlab.train.runs import load_metrics, read_config, read_summary
from tests.conftest import PROJECT_ROOT, alive, parent_pid, trainer_after_one_epoch

KNOBS = set(TrainConfig.knob_names())
TINY = {"dataset": "arithmetic", "arch": "rnn", "cell": "tanh", "optimizer": "sgd", "lr": 0.1, "clip": None,
        "epochs": 2, "bptt": None, "hidden": 8, "batch_size": 4, "max_updates_per_epoch": 3,
        "max_eval_sequences": 4, "device": "cpu", "task_knobs": {"n_train": 32, "n_valid": 8, "n_test": 8}}
HAS_INIT_FROM = {"init_from", "pretrained_lr_scale"} <= KNOBS


def _write(tmp_path, spec, name="spec.json"):
    path = tmp_path / name
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return path


# ------------------------------------------------------------------------------------------- committed specs
def _spec_needs(spec: dict) -> set:
    """TrainConfig knobs a spec names that this TrainConfig does not have (yet)."""
    names = set(spec.get("base", {})) | set(spec.get("grid", {})) | set(spec.get("smoke", {}))
    names |= set(spec.get("draws", {}).get("knobs", {}))
    for section in ("datasets", "models"):
        for entry in spec.get(section, {}).values():
            names |= set(entry) - {"models", "after"}
            for override in entry.get("models", {}).values() if section == "datasets" else []:
                names |= set(override or {}) - {"after"}
    return names - KNOBS


SPECS = sorted((PROJECT_ROOT / "experiments").glob("*.json"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_committed_spec_expands_to_valid_named_points(path, tmp_path):
    spec = load_spec(path)
    missing = _spec_needs(spec)
    if missing:
        pytest.skip(f"{path.name} uses TrainConfig knobs not in this tree yet: {', '.join(sorted(missing))}")
    points = expand(spec, root=tmp_path)
    names = [p.name for p in points]
    assert len(set(names)) == len(names)
    by_name = {p.name: p for p in points}
    for point in points:
        assert point.run_dir == tmp_path.resolve() / spec["name"] / point.name
        assert all(re.fullmatch(r"[A-Za-z0-9_.+=,-]+", part) for part in point.name.split("/")), point.name
        if point.after:
            parent = by_name[point.after]
            assert names.index(point.after) < names.index(point.name)
            assert (point.dataset, point.values) == (parent.dataset, parent.values)
            assert point.knobs["init_from"] == str(parent.run_dir)
    assert len(expand(spec, root=tmp_path, smoke=True)) == len(points)


def test_committed_specs_state_the_papers_setups():
    """The numbers the papers give, as the specs carry them (issue 11; docs/sweeps.md)."""
    pascanu = load_spec(PROJECT_ROOT / "experiments" / "pascanu2014.json")
    assert {d: pascanu["datasets"][d]["bptt"] for d in ("jsb", "nottingham", "musedata")} == \
        {"jsb": 50, "nottingham": 200, "musedata": 200}
    assert {d: pascanu["datasets"][d]["decay_beta"] for d in ("jsb", "nottingham", "musedata")} == \
        {"jsb": 100, "nottingham": 2330, "musedata": 1475}
    assert pascanu["models"]["rnn"]["hidden"] == 600 and pascanu["datasets"]["jsb"]["models"]["rnn"]["hidden"] == 200
    # sRNN starts from a trained RNN of its own width (Table 1's RNN is narrower/wider on JSB/Nottingham)
    assert pascanu["models"]["srnn"]["after"] == "rnn-pretrain" and pascanu["models"]["dots"]["after"] == "dts"
    assert pascanu["models"]["rnn-pretrain"]["hidden"] == pascanu["models"]["srnn"]["hidden"] == 400
    # ... and on MuseData, where the RNN and the sRNN levels are both 600 wide, from the trained RNN itself
    muse = pascanu["datasets"]["musedata"]["models"]
    assert muse["srnn"] == {"hidden": 600, "after": "rnn"} and muse["rnn-pretrain"] is None
    assert pascanu["models"]["rnn"]["hidden"] == 600
    for model in ("srnn", "dots"):
        assert pascanu["models"][model]["init_from"] == "{after}"
        assert pascanu["models"][model]["pretrained_lr_scale"] == 0.1
    chung = load_spec(PROJECT_ROOT / "experiments" / "chung2014.json")
    assert chung["draws"]["count"] == 10 and chung["draws"]["knobs"]["lr"] == {"exp_uniform": [-12, -6]}
    assert {m: chung["models"][m]["hidden"] for m in chung["models"]} == {"tanh": 100, "gru": 46, "lstm": 36}



def test_the_seed_study_reruns_the_published_best_draws_with_the_campaigns_recipe(tmp_path):
    """experiments/chung2014_seeds.json repeats, with other seeds, exactly the draw that won each unit and set in
    the published campaign (results/chung2014.csv), with that campaign's recipe: only seed and epoch cap differ."""
    import pandas as pd

    from rnnlab.campaigns.results import best_of_groups

    published = pd.read_csv(PROJECT_ROOT / "results" / "chung2014.csv")
    winners = {p.rsplit("/", 1)[0]: p for p in best_of_groups(published)}
    campaign = {p.name: p for p in expand(load_spec(PROJECT_ROOT / "experiments" / "chung2014.json"), root=tmp_path)}
    seeds = expand(load_spec(PROJECT_ROOT / "experiments" / "chung2014_seeds.json"), root=tmp_path)
    assert {p.name.rsplit("/", 1)[0] for p in seeds} <= set(winners)
    for point in seeds:
        winner = campaign[winners[point.name.rsplit("/", 1)[0]]]
        assert point.knobs["seed"] != winner.knobs["seed"] and point.knobs["epochs"] >= winner.knobs["epochs"]
        same = {k: v for k, v in point.knobs.items() if k not in ("seed", "epochs")}
        assert same == {k: v for k, v in winner.knobs.items() if k not in ("seed", "epochs")}, point.name

# ------------------------------------------------------------------------------------------------ the format
def test_knobs_merge_from_base_to_dataset_to_model_to_override_to_grid(tmp_path):
    spec = {"name": "m", "base": {**TINY, "hidden": 8},
            "datasets": {"arithmetic": {"lr": 0.2, "task_knobs": {"n_valid": 4},
                                        "models": {"big": {"hidden": 12}}},
                         "xml": {"task_knobs": {"n_train": 16, "n_valid": 8, "n_test": 8}}},
            "models": {"small": {}, "big": {"hidden": 10, "lr": 0.3}},
            "grid": {"seed": [0, 1]}}
    points = {p.name: p for p in expand(spec, root=tmp_path)}
    assert list(points) == ["arithmetic/small/seed=0", "arithmetic/small/seed=1", "arithmetic/big/seed=0",
                            "arithmetic/big/seed=1", "xml/small/seed=0", "xml/small/seed=1", "xml/big/seed=0",
                            "xml/big/seed=1"]
    small, big, xml_big = (points[n].knobs for n in ("arithmetic/small/seed=1", "arithmetic/big/seed=0",
                                                      "xml/big/seed=1"))
    assert (small["hidden"], small["lr"], small["seed"]) == (8, 0.2, 1)
    assert small["task_knobs"] == {"n_train": 32, "n_valid": 4, "n_test": 8}  # merged key by key
    assert (big["hidden"], big["lr"]) == (12, 0.3)  # dataset x model override > model > dataset
    assert (xml_big["dataset"], xml_big["hidden"], xml_big["lr"]) == ("xml", 10, 0.3)
    smoke = {p.name: p for p in expand({**spec, "smoke": {"lr": 0.5}}, root=tmp_path, smoke=True)}
    assert smoke["arithmetic/big/seed=0"].knobs["lr"] == 0.5
    assert smoke["arithmetic/big/seed=0"].run_dir.parts[-4] == "m-smoke"


def test_draws_are_reproducible_in_range_and_named_by_value(tmp_path):
    spec = {"name": "d", "base": TINY, "models": {"tanh": {}, "gru": {"cell": "gru"}},
            "draws": {"count": 10, "seed": 2014, "knobs": {"lr": {"exp_uniform": [-12, -6]},
                                                           "clip": {"uniform": [1, 20]},
                                                           "hidden": {"int_uniform": [4, 9]}}}}
    points = expand(spec, root=tmp_path)
    again = expand(json.loads(json.dumps(spec)), root=tmp_path)
    assert [p.knobs for p in points] == [p.knobs for p in again] and len(points) == 20
    tanh = [p for p in points if p.model == "tanh"]
    gru = [p for p in points if p.model == "gru"]
    assert [p.values for p in tanh] == [p.values for p in gru]  # every model gets the same settings
    for point in tanh:
        lr, clip, hidden = point.values["lr"], point.values["clip"], point.values["hidden"]
        assert math.exp(-12) <= lr <= math.exp(-6) and 1 <= clip <= 20 and 4 <= hidden <= 9
        assert float(f"{lr:.2e}") == lr  # 3 significant digits: the name shows what ran
        assert point.name == point_name(point.values, None, "tanh")
    assert len({p.values["lr"] for p in tanh}) == 10
    other = expand({**spec, "draws": {**spec["draws"], "seed": 2015}}, root=tmp_path)
    assert [p.values for p in other] != [p.values for p in points]
    assert point_name({"lr": 0.000312, "seed": 0}, "jsb", "gru") == "jsb/gru/lr=3.12e-04,seed=0"


def test_a_child_waits_for_its_parent_with_the_same_dataset_grid_and_draw(tmp_path):
    child = {"after": "rnn", "init_from": "{after}", "pretrained_lr_scale": 0.1} if HAS_INIT_FROM \
        else {"after": "rnn"}
    spec = {"name": "p", "base": TINY, "datasets": {"arithmetic": {}, "xml": {}},
            "models": {"srnn": {"arch": "srnn", **child}, "rnn": {}}, "grid": {"seed": [0, 1]}}
    points = expand(spec, root=tmp_path)
    by_name = {p.name: p for p in points}
    assert by_name["xml/srnn/seed=1"].after == "xml/rnn/seed=1"
    assert [p.name for p in points].index("xml/rnn/seed=1") < [p.name for p in points].index("xml/srnn/seed=1")
    if HAS_INIT_FROM:
        assert by_name["xml/srnn/seed=1"].knobs["init_from"] == str(tmp_path.resolve() / "p" / "xml/rnn/seed=1")
    chosen = [p.name for p in select(points, ["*/srnn/seed=0"])]
    assert chosen == ["arithmetic/rnn/seed=0", "arithmetic/srnn/seed=0", "xml/rnn/seed=0", "xml/srnn/seed=0"]
    assert [p.name for p in select(points, ["xml"])] == [p.name for p in points if p.dataset == "xml"]
    with pytest.raises(RnnlabError, match="matches no point"):
        select(points, ["ptb/*"])


def test_a_dataset_can_change_a_models_parent_or_leave_a_model_out(tmp_path):
    """Pascanu's MuseData sRNN is as wide as his RNN (600), so there it starts from the trained RNN itself and the
    same-width pretraining run is left out; on the other sets it starts from rnn-pretrain."""
    child = {"after": "pre", "init_from": "{after}", "pretrained_lr_scale": 0.1} if HAS_INIT_FROM \
        else {"after": "pre"}
    spec = {"name": "o", "base": TINY,
            "datasets": {"arithmetic": {}, "xml": {"models": {"srnn": {"after": "rnn", "hidden": 10}, "pre": None}}},
            "models": {"srnn": {"arch": "srnn", **child}, "rnn": {}, "pre": {"hidden": 12}}, "grid": {"seed": [0]}}
    points = expand(spec, root=tmp_path)
    names = [p.name for p in points]
    assert names == ["arithmetic/pre/seed=0", "arithmetic/srnn/seed=0", "arithmetic/rnn/seed=0",
                     "xml/rnn/seed=0", "xml/srnn/seed=0"]
    by_name = {p.name: p for p in points}
    assert by_name["arithmetic/srnn/seed=0"].after == "arithmetic/pre/seed=0"
    assert by_name["xml/srnn/seed=0"].after == "xml/rnn/seed=0"
    assert by_name["xml/srnn/seed=0"].knobs["hidden"] == 10  # the override's knobs still apply, 'after' is not one
    if HAS_INIT_FROM:
        assert by_name["xml/srnn/seed=0"].knobs["init_from"] == str(tmp_path.resolve() / "o" / "xml/rnn/seed=0")
    assert parent_points(spec) == {"arithmetic/pre/seed=0", "xml/rnn/seed=0"}
    # a child whose parent is left out on a dataset is an error there, naming what could be its parent
    orphan = {**spec, "datasets": {"xml": {"models": {"pre": None}}}}
    with pytest.raises(RnnlabError, match=r"models.srnn.after must name another model that runs on dataset "
                                          r"'xml' \(rnn\), got 'pre'"):
        expand(orphan, root=tmp_path)
    loop = {**spec, "datasets": {"xml": {"models": {"rnn": {"after": "srnn"}, "srnn": {"after": "rnn"}}}}}
    with pytest.raises(RnnlabError, match=r"datasets.xml.models.srnn.after makes a cycle on dataset 'xml' "
                                          r"through 'srnn'"):
        expand(loop, root=tmp_path)
    with pytest.raises(RnnlabError, match="datasets.xml.models.big: no model 'big'"):
        expand({**spec, "datasets": {"xml": {"models": {"big": None}}}}, root=tmp_path)


@pytest.mark.parametrize("spec, fragment", [
    ('{"name": "x",\n "grid": {"seed": [0,]}}', "line 2, column"),
    ({"name": "x", "grid": {}}, "grid must map"),
    ({"name": "x", "grid": {"seed": []}}, "non-empty list"),
    ({"name": "x", "base": TINY, "grid": {"lr": [0.1, -2]}}, "point lr=-2: lr must be"),
    ({"name": "x", "base": TINY, "models": {"a": {"arch": "wide"}}}, "point a: unknown arch 'wide'"),
    ({"name": "x", "grid": {"seed": [0]}, "bsae": {}}, "unknown key 'bsae'"),
    ({"name": "x", "models": {"a": {"hiden": 8}}}, "models.a: unknown training knob 'hiden'; did you mean 'hidden'"),
    ({"name": "x", "models": {"a": {"after": "b"}}}, "models.a.after must name another model"),
    ({"name": "x", "models": {"a": {"after": "b"}, "b": {"after": "a"}}}, "cycle"),
    ({"name": "x", "models": {"a": {}}, "datasets": {"jsb": {"models": {"b": {}}}}}, "no model 'b'"),
    ({"name": "x", "base": TINY, "grid": {"seed": [1, 1]}}, "two points share the name 'seed=1'"),
    ({"name": "x", "base": TINY, "draws": {"count": 2, "seed": 0, "knobs": {"lr": {"normal": [0, 1]}}}},
     "draws.knobs.lr must be one of"),
    ({"name": "x", "base": TINY, "draws": {"count": 0, "seed": 0, "knobs": {"lr": {"uniform": [0, 1]}}}},
     "draws.count must be an integer >= 1"),
    ({"name": "x", "base": TINY, "draws": {"count": 2, "seed": 0, "knobs": {"lr": {"log_uniform": [0, 1]}}}},
     "log_uniform needs positive bounds"),
    ({"name": "x", "base": TINY, "grid": {"lr": [0.1]}, "draws": {"count": 2, "seed": 0,
                                                                 "knobs": {"lr": {"uniform": [0.1, 1]}}}},
     "both in grid and in draws"),
    ({"name": "../up", "grid": {"seed": [0]}}, "sweep name must be"),
    ({"name": "x", "base": TINY}, "describes no points"),
    ('["name"]', "expected a JSON object"),
])
def test_spec_errors_are_one_line_naming_where(tmp_path, spec, fragment, capsys):
    code = cli_main(["sweep", str(_write(tmp_path, spec)), "--dry-run", "--root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert fragment in err, err
    assert not (tmp_path / "x").exists()


def test_dry_run_lists_points_and_dependencies_and_writes_nothing(tmp_path, capsys):
    spec = {"name": "t", "base": TINY, "models": {"a": {}, "b": {"after": "a"}}, "grid": {"seed": [0, 1]}}
    assert cli_main(["sweep", str(_write(tmp_path, spec)), "--dry-run", "--root", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == ["a/seed=0", "a/seed=1", "b/seed=0    (after a/seed=0)", "b/seed=1    (after a/seed=1)"]
    assert out[4] == f"4 points under {tmp_path.resolve() / 'runs' / 't'}"
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_locked_point_is_skipped_and_said_so(tmp_path):
    spec = {"name": "l", "base": TINY, "models": {"a": {}, "b": {}}}
    point, _ = expand(spec, root=tmp_path, smoke=True)
    point.run_dir.mkdir(parents=True)
    stream = io.StringIO()
    with RunLock(point.run_dir):
        rows = run_sweep(spec, root=tmp_path, smoke=True, engine="inline", stream=stream)
        assert sweep_states([point])["a"]["status"] == "running"
    assert [row["status"] for row in rows] == ["locked", "ok"]
    assert "skipping a: another process is writing" in stream.getvalue()
    # another writer's point is not a failure of this sweep (the progress line once counted it as one)
    assert "1/2 done · 0 running · 0 failed · 0 blocked · 1 written elsewhere · elapsed" in stream.getvalue()
    assert sorted(p.name for p in point.run_dir.iterdir()) == [".lock"]


# ---------------------------------------------------------------------------------------- a real local sweep
@pytest.mark.slow
def test_local_sweep_runs_points_in_order_records_failures_blocks_dependents_and_skips_finished(tmp_path, capsys):
    """a -> b (child); bad diverges -> c -> d blocked; f fails (its folder holds a damaged checkpoint) -> g blocked.
    A folder holding another run's record (other knobs) refuses the whole sweep first, before anything is written."""
    child = {"init_from": "{after}", "pretrained_lr_scale": 0.1} if HAS_INIT_FROM else {}
    spec = {"name": "s", "base": TINY, "models": {
        "a": {}, "b": {"after": "a", "lr": 0.05, **child}, "bad": {"lr": 1e38}, "c": {"after": "bad"},
        "d": {"after": "c"}, "f": {}, "g": {"after": "f"}}}
    path = _write(tmp_path, spec)
    points = {p.name: p for p in expand(spec, root=tmp_path / "runs", smoke=True)}
    f = points["f"].run_dir
    f.mkdir(parents=True)
    (f / "config.json").write_text(TrainConfig(**{**points["f"].knobs, "lr": 0.7}).to_json())
    with pytest.raises(RnnlabError, match=r"1 point .* ran with other knobs .*\(f; f: lr 0.7 -> 0.1\)"):
        run_sweep(spec, root=tmp_path / "runs", smoke=True, engine="inline", stream=io.StringIO())
    assert sorted(p.name for p in (tmp_path / "runs" / "s-smoke").iterdir()) == ["f"]  # no spec.json, no run
    (f / "config.json").write_text(TrainConfig(**points["f"].knobs).to_json())  # its own knobs, and
    (f / "checkpoints").mkdir()
    (f / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")  # a damaged checkpoint: fails when resumed

    stream = io.StringIO()
    rows = run_sweep(spec, root=tmp_path / "runs", smoke=True, engine="local", workers=2, stream=stream)
    status = {r["point"]: r["status"] for r in rows}
    assert status == {"a": "ok", "b": "ok", "bad": "diverged", "c": "blocked", "d": "blocked", "f": "failed",
                      "g": "blocked"}
    log = stream.getvalue()
    assert re.search(r"blocked +c +\(parent bad is diverged\)", log) and "parent f is failed" in log
    assert "blocked  d  (parent c is blocked)" in log
    assert re.search(r"\d/7 done · \d running · \d failed · \d blocked · elapsed \S+ · ETA", log)
    failure = json.loads((f / "point.json").read_text())
    assert failure["status"] == "failed" and "last.pt" in failure["message"] and "\n" not in failure["message"]

    a, b = points["a"].run_dir, points["b"].run_dir
    for run in (a, b, points["bad"].run_dir, f):
        assert (run / "03_train.ipynb").exists(), run  # the executed notebook is the run's readable record
    assert not list((tmp_path / "runs" / "s-smoke").glob(".*.ipynb"))  # no scratch copy left behind
    assert not any(points[n].run_dir.exists() for n in ("c", "d", "g"))
    started_b = (b / "run.log").read_text().splitlines()[0][:19]
    finished_a = (a / "run.log").read_text().splitlines()[-1][:19]
    assert started_b >= finished_a  # the child ran after its parent ended
    recorded = json.loads((b / "config.json").read_text())
    if HAS_INIT_FROM:  # the spec names the parent's folder; the record keeps it relative to the child's own
        assert recorded["init_from"] == "../a" and points["b"].knobs["init_from"] == str(a)
        assert read_config(b).init_from == str(a)
        recorded["init_from"] = points["b"].knobs["init_from"]
    assert recorded == points["b"].knobs
    assert read_summary(a)["status"] == "ok" and len(load_metrics(a)) == 2

    # the store keeps the spec, so publishing ships the checkpoints that children start from (a's), no others
    assert json.loads((tmp_path / "runs" / "s-smoke" / "spec.json").read_text()) == spec
    publish(tmp_path / "runs" / "s-smoke", tmp_path / "results" / "s")
    shipped = sorted(p.relative_to(tmp_path / "results" / "s").as_posix()
                     for p in (tmp_path / "results" / "s").rglob("best.pt"))
    assert shipped == ["a/checkpoints/best.pt"]
    assert (tmp_path / "results" / "s" / "spec.json").read_bytes() == \
        (tmp_path / "runs" / "s-smoke" / "spec.json").read_bytes()
    assert (b / "checkpoints" / "best.pt").exists()  # left out by the rule, not for want of a file

    table = format_table(rows).splitlines()
    assert table[0].split() == ["point", "status", "best", "valid", "test", "epochs", "time"]
    assert re.search(r"failed f: \w+Error: .*last.pt", "\n".join(table))

    # --status reads the folders and runs nothing; a re-run skips what finished
    capsys.readouterr()
    assert cli_main(["sweep", str(path), "--status", "--smoke", "--root", str(tmp_path / "runs")]) == 0
    shown = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:8]}
    assert shown == status
    stream = io.StringIO()
    again = run_sweep(spec, root=tmp_path / "runs", smoke=True, engine="local", workers=2, stream=stream,
                      only=["a", "b", "bad", "d"])
    assert "started" not in stream.getvalue()
    assert {r["point"]: r["status"] for r in again} == {k: status[k] for k in ("a", "b", "bad", "c", "d")}


@pytest.mark.slow
def test_a_terminated_local_sweep_stops_its_workers_and_the_rerun_resumes_the_point(tmp_path):
    # `kill PID` (SIGTERM) on a background sweep used to end its process alone: the pool's worker and its kernel trained
    # on, orphaned. Now it ends as Ctrl-C does: the worker and the kernel go, and the point resumes on the next run.
    # Long memorize sequences make each epoch's validation pass take seconds even at smoke sizes, so a signal sent
    # after epoch 1 lands mid-run even when its way through sweep, worker and kernel is slow on a loaded machine (with
    # 5,000 symbols, about a second, the run sometimes finished first, serially and under pytest -n 2).
    slow = {"dataset": "memorize", "task_knobs": {"n_symbols": 20000, "n_train": 4, "n_valid": 4, "n_test": 4},
            "bptt": 20}
    spec = {"name": "t", "base": {"arch": "rnn", "cell": "tanh", "optimizer": "sgd", "lr": 0.1, "clip": 1.0,
                                  "epochs": 2, "hidden": 8, "batch_size": 4, "device": "cpu"},
            "models": {"a": slow, "b": slow}}  # b: the same run, never interrupted, the reference
    spec_path, root = _write(tmp_path, spec), tmp_path / "runs"
    a, b = (p.run_dir for p in expand(spec, root=root, smoke=True))
    command = [sys.executable, "-m", "rnnlab.cli", "sweep", str(spec_path), "--root", str(root), "--smoke",
               "--workers", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    kernel = trainer_after_one_epoch(first, a)
    worker = parent_pid(kernel)  # the pool's process executing the notebook
    assert read_summary(a) is None and alive(kernel), "point a finished before the sweep could be terminated"
    first.send_signal(signal.SIGTERM)  # the sweep's own process only, as `kill PID` does
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 130 and "interrupted: run the same command again" in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]  # the one line says what to do; a traceback only buries it
    deadline = time.time() + 30
    while (alive(worker) or alive(kernel)) and time.time() < deadline:
        time.sleep(0.2)
    assert not alive(worker), "the pool's worker outlived the terminated sweep"
    assert not alive(kernel), "the kernel outlived the terminated sweep and still holds the run folder"
    assert read_summary(a) is None and not b.exists()  # a stopped mid-run, b never started

    second = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, (second.stdout + second.stderr)[-3000:]
    assert "resumed from" in (a / "run.log").read_text()
    resumed, reference = load_metrics(a), load_metrics(b)
    columns = ["epoch", "train_loss", "lr", "grad_norm_mean", "grad_norm_max", "clip_events", "updates",
               "valid_metric", "valid_nats"]
    assert len(resumed) == len(reference) == 2 and resumed[columns].equals(reference[columns])
    assert read_summary(a)["best_valid"] == read_summary(b)["best_valid"]
