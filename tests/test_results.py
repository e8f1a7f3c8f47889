"""A campaign's results table and the join with the published numbers (rnnlab.campaigns.results)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.campaigns.results import COLUMNS, beside_paper, collect
from rnnlab.train import TrainConfig
from rnnlab.train.portable import ABSOLUTE_PATH

RESULTS = Path(__file__).resolve().parents[1] / "results"
MACHINE_KEYS = ("host", "run_dir")  # what a record written on one machine said about it
SYSTEM_PATHS = ("/dev/", "/sys/", "/proc/")  # the same on every machine (fault_cases.md's inputs name them)


def _fake_run(folder, summary: dict, **knobs):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(TrainConfig(**knobs).to_json())
    (folder / "summary.json").write_text(json.dumps(summary))


def test_collect_reads_every_run_and_beside_paper_gives_the_difference(tmp_path):
    base = {"status": "ok", "metric": "nll", "sizes": {"hidden": 200, "levels": 1}, "epochs_run": 40,
            "best_valid": 8.4, "train_seconds": 100.0, "tokens_per_s": 5000.0, "commit": "abc"}
    _fake_run(tmp_path / "jsb" / "rnn" / "seed=0", {**base, "test": {"nll": 8.40, "nll_pieces": 8.61},
                                                    "train_eval": {"nll": 7.9, "nll_pieces": 8.0}},
              dataset="jsb", arch="rnn", hidden=200, nonlinearity="sigmoid", seed=0)
    _fake_run(tmp_path / "jsb" / "dts" / "seed=0", {**base, "status": "diverged", "test": {}},
              dataset="jsb", arch="dts-rnn", hidden=400, nonlinearity="sigmoid")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{")
    table = collect(tmp_path)
    assert list(table.columns) == list(COLUMNS)
    assert sorted(table.point) == ["jsb/dts/seed=0", "jsb/rnn/seed=0"]
    row = table.set_index("point").loc["jsb/rnn/seed=0"]
    assert (row.test_nll, row.test_nll_pieces, row.train_nll, row.lr, row.optimizer) == (8.40, 8.61, 7.9, 1e-3,
                                                                                        "adam")
    joined = beside_paper(table, "Pascanu 2014")
    hit = joined[(joined.dataset == "jsb") & (joined.arch == "rnn")].iloc[0]
    assert hit.paper == 8.338 and hit.ours == 8.40 and hit["ours per piece"] == 8.61
    assert hit.difference == pytest.approx(8.40 - 8.338)
    dts = joined[(joined.dataset == "jsb") & (joined.arch == "dts-rnn")].iloc[0]
    assert dts.paper == 8.278 and dts.ours != dts.ours  # a diverged run has no number beside the paper's
    assert len(joined[joined.table == "Table 2"]) == 12  # the first four columns of Table 2, three sets
    chung = beside_paper(table, "Chung 2014", split="train")  # the train column reads the best model's train NLL
    assert set(chung.cell) == {"tanh", "gru", "lstm_peephole"}
    assert chung[(chung.dataset == "jsb") & (chung.cell == "tanh")].ours.tolist() == [7.9]
    assert chung.ours.notna().sum() == 1


@pytest.mark.parametrize("origin", ["noncanonical", "fallback", "stand-in", "generated"])
def test_only_runs_on_the_papers_own_files_sit_beside_the_papers_numbers(origin):
    import pandas as pd

    row = {"point": "jsb/rnn/seed=0", "dataset": "jsb", "arch": "rnn", "cell": "tanh", "status": "ok",
           "test_nll": 8.1, "test_nll_pieces": 8.2, "test_metric": 8.1}
    table = pd.DataFrame([{**row, "data_origin": "canonical"}, {**row, "point": "jsb/rnn/seed=1", "test_nll": 1.0,
                                                                "data_origin": origin}])
    hit = beside_paper(table, "Pascanu 2014").query("dataset == 'jsb' and arch == 'rnn'")
    assert hit.ours.tolist() == [8.1] and hit.point.tolist() == ["jsb/rnn/seed=0"]


def test_publish_copies_the_small_files_and_bins_the_per_update_curve(tmp_path):
    import pandas as pd

    from rnnlab.campaigns.results import publish
    from rnnlab.train.runs import load_metrics
    from rnnlab.train.trainer import Trainer

    knobs = dict(dataset="arithmetic", cell="gru", hidden=8, batch_size=4, bptt=None, epochs=3,
                 max_updates_per_epoch=7, max_eval_sequences=8, device="cpu",
                 task_knobs={"n_train": 64, "n_valid": 8, "n_test": 8, "max_digits": 2})
    Trainer(TrainConfig(**knobs), run_dir=tmp_path / "store" / "a" / "seed=0", progress=False).fit()
    table = publish(tmp_path / "store", tmp_path / "results" / "toy", checkpoints_for=("arithmetic",))
    out = tmp_path / "results" / "toy" / "a" / "seed=0"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "config.json", "metrics.csv", "run.log",
                                                     "summary.json", "updates_binned.csv"]
    assert (tmp_path / "results" / "toy.csv").exists() and list(table.point) == ["a/seed=0"]
    full = load_metrics(tmp_path / "store" / "a" / "seed=0", "updates")
    from rnnlab.campaigns.results import binned_updates

    binned = binned_updates(full, max_rows=4)
    assert len(binned) == 4 and binned.updates_in_bin.sum() == len(full) == 21
    weighted = (binned.loss * binned.updates_in_bin).sum() / binned.updates_in_bin.sum()
    assert weighted == pytest.approx(full.loss.mean())
    assert binned["update"].iloc[-1] == full["update"].iloc[-1]
    pd.testing.assert_frame_equal(pd.read_csv(out / "metrics.csv"), load_metrics(out))
    store = tmp_path / "store" / "a" / "seed=0"
    for name in ("config.json", "summary.json", "run.log"):  # a new record names no machine: copied as it is
        assert (out / name).read_bytes() == (store / name).read_bytes(), name
    assert not _machine_names(tmp_path / "results")


def test_publish_leaves_a_run_that_is_being_written_as_it_was_published(tmp_path):
    import json
    import shutil

    import pandas as pd

    from rnnlab.campaigns.results import publish
    from rnnlab.train.lock import RunLock
    from rnnlab.train.trainer import Trainer

    knobs = dict(dataset="arithmetic", cell="gru", hidden=8, batch_size=4, bptt=None, epochs=2,
                 max_updates_per_epoch=3, max_eval_sequences=8, device="cpu",
                 task_knobs={"n_train": 32, "n_valid": 8, "n_test": 8, "max_digits": 2})
    store, out = tmp_path / "store", tmp_path / "results" / "toy"
    for point in ("a/lr=1", "a/lr=2"):
        Trainer(TrainConfig(**knobs), run_dir=store / point, progress=False).fit()
    publish(store, out)
    published = pd.read_csv(out.with_suffix(".csv"))
    # lr=1 is being extended: its metrics grow while its summary is still the first stage's
    extended = store / "a" / "lr=1"
    with RunLock(extended):
        with open(extended / "metrics.csv", "a") as metrics:
            metrics.write(open(extended / "metrics.csv").read().splitlines()[-1] + "\n")
        summary = json.loads((extended / "summary.json").read_text())
        (extended / "summary.json").write_text(json.dumps({**summary, "best_valid": -1.0,  # as the extension's end
                                                           "epochs_run": summary["epochs_run"] + 1}))
        Trainer(TrainConfig(**knobs), run_dir=store / "a" / "lr=3", progress=False).fit()
        rerun = store / "a" / "lr=2"  # moved aside and run again from scratch: no summary.json until it ends
        shutil.move(rerun, tmp_path / "aside")
        rerun.mkdir()
        with RunLock(store / "a" / "lr=3"), RunLock(rerun):  # lr=3: being written and never published: left out
            table = publish(store, out)
    assert table.attrs["being_written"] == ["a/lr=1", "a/lr=2", "a/lr=3"]
    assert list(table.point) == ["a/lr=1", "a/lr=2"]
    again = pd.read_csv(out.with_suffix(".csv"))
    pd.testing.assert_frame_equal(again, published)  # lr=1's and lr=2's rows are the ones published before
    assert (out / "a" / "lr=1" / "metrics.csv").read_text() != (extended / "metrics.csv").read_text()
    assert (out / "a" / "lr=2" / "summary.json").exists() and not (out / "a" / "lr=3").exists()
    shutil.rmtree(rerun)
    shutil.move(tmp_path / "aside", rerun)  # the rerun finished, as the first run did
    table = publish(store, out)  # once the writer is done, the run is published as it now is
    assert table.attrs["being_written"] == [] and list(table.point) == ["a/lr=1", "a/lr=2", "a/lr=3"]
    assert table.set_index("point").best_valid["a/lr=1"] == -1.0


def test_publish_leaves_a_run_whose_extension_was_killed_as_it_was_published(tmp_path):
    # A killed extension leaves no lock, but its metrics.csv (and config.json) have moved past its summary.json:
    # publishing it would pair the first stage's summary with the extension's curve.
    import pandas as pd

    from rnnlab.campaigns.results import publish
    from rnnlab.train.runs import load_metrics
    from rnnlab.train.trainer import Trainer

    knobs = dict(dataset="arithmetic", cell="gru", hidden=8, batch_size=4, bptt=None, epochs=2,
                 max_updates_per_epoch=3, max_eval_sequences=8, device="cpu",
                 task_knobs={"n_train": 32, "n_valid": 8, "n_test": 8, "max_digits": 2})
    store, out = tmp_path / "store", tmp_path / "results" / "toy"
    run = store / "a" / "lr=1"
    Trainer(TrainConfig(**knobs), run_dir=run, progress=False).fit()
    publish(store, out)
    published, curve = pd.read_csv(out.with_suffix(".csv")), (out / "a" / "lr=1" / "metrics.csv").read_text()
    Trainer(TrainConfig(**{**knobs, "epochs": 4}), run_dir=run, resume=True, progress=False).fit()  # extended...
    summary = (run / "summary.json").read_text()
    Trainer(TrainConfig(**{**knobs, "epochs": 6}), run_dir=run, resume=True, progress=False).fit()
    (run / "summary.json").write_text(summary)  # ...and killed after epoch 6, before its summary was written
    assert len(load_metrics(run)) == 6
    table = publish(store, out)
    assert (out / "a" / "lr=1" / "metrics.csv").read_text() == curve
    pd.testing.assert_frame_equal(pd.read_csv(out.with_suffix(".csv")), published)
    assert table.attrs["extension_interrupted"] == ["a/lr=1"] and table.attrs["being_written"] == []


def test_learning_curves_thin_long_runs_to_a_bounded_number_of_points():
    import numpy as np
    import pandas as pd

    from rnnlab.viz.curves import learning_curves

    n = 10_001
    updates = pd.DataFrame({"update": np.arange(1, n + 1), "loss": np.arange(n, dtype=float),
                            "wall_seconds": np.arange(n) / 10})
    epochs = pd.DataFrame({"updates": [n], "wall_seconds": [n / 10], "valid_metric": [1.0]})
    figure = learning_curves({"run": (updates, epochs)}, max_points=1000, smooth=1)
    train = figure.data[0]
    assert len(train.x) <= 1000 and train.x[-1] == n
    step = -(-n // 1000)
    assert train.y[-1] == pytest.approx(np.arange(n - step, n).mean())  # the running mean over the thinning step


def test_ordering_checks_read_each_claim_per_task():
    import pandas as pd

    from rnnlab.viz.reports import ordering_checks

    best = pd.DataFrame({"arithmetic": [0.9, 0.3, 0.9], "xml": [0.4, 0.5, 0.4]}, index=["lstm", "lstm_nof", "gru"])
    checks = ordering_checks(best, [("lstm", ">", "lstm_nof"), ("gru", ">=", "lstm")])
    assert checks.holds.tolist() == [True, False, True, True]
    assert checks.claim.tolist() == ["lstm > lstm_nof"] * 2 + ["gru >= lstm"] * 2


def test_only_the_best_run_of_each_group_ships_a_checkpoint():
    import pandas as pd

    from rnnlab.campaigns.results import best_of_groups

    table = pd.DataFrame({
        "point": ["jsb/gru/lr=1e-3", "jsb/gru/lr=1e-4", "jsb/gru/lr=1e-2", "jsb/tanh/lr=1e-3", "nott/gru/lr=1e-3"],
        "status": ["ok", "ok", "diverged", "ok", "ok"],
        "best_valid": [8.4, 8.9, 1.0, 8.6, float("nan")],
    })
    assert best_of_groups(table) == {"jsb/gru/lr=1e-3", "jsb/tanh/lr=1e-3"}  # diverged and NaN never win
    assert best_of_groups(table.iloc[:0]) == set()


def test_seed_spread_pools_each_winner_with_its_reruns(tmp_path):
    import pandas as pd

    from rnnlab.campaigns.results import seed_spread

    def row(point, test, valid, status="ok"):
        dataset, cell = point.split("/")[:2]
        return dict(point=point, dataset=dataset, cell=cell, status=status, best_valid=valid, test_nll=test,
                    test_nll_pieces=test - 0.03)

    campaign = pd.DataFrame([row("jsb/gru/lr=a", 8.48, 8.39), row("jsb/gru/lr=b", 8.30, 8.45),  # a wins on valid
                             row("jsb/lstm/lr=a", 8.46, 8.43), row("jsb/tanh/lr=a", 8.67, 8.54)])  # no rerun
    seeds = pd.DataFrame([row("jsb/gru/seed=1", 8.52, 8.41), row("jsb/gru/seed=2", 8.50, 8.40),
                          row("jsb/gru/seed=3", 99.0, 99.0, status="diverged"), row("jsb/lstm/seed=1", 8.44, 8.42)])
    table = seed_spread(campaign, seeds).set_index("group")
    gru = table.loc["jsb/gru"]
    assert (gru.runs, gru.winner, gru["min"], gru["max"]) == (3, 8.48, 8.48, 8.52)
    assert gru["mean"] == pytest.approx(8.50) and gru.sd == pytest.approx(0.02)
    assert gru.mean_per_piece == pytest.approx(8.47)
    assert table.loc["jsb/lstm"].runs == 2 and table.loc["jsb/lstm"]["mean"] == pytest.approx(8.45)
    assert list(table.index) == ["jsb/gru", "jsb/lstm"]  # a winner without reruns has no spread to show


def test_draws_taken_counts_finished_draws_against_the_spec():
    import pandas as pd

    from rnnlab.campaigns.results import draws_taken

    planned = ["jsb/gru/lr=a", "jsb/gru/lr=b", "jsb/gru/lr=c", "jsb/tanh/lr=a", "jsb/tanh/lr=b"]
    table = pd.DataFrame({"point": ["jsb/gru/lr=a", "jsb/gru/lr=b", "jsb/gru/lr=c", "jsb/tanh/lr=a", "jsb/gru/old"],
                          "status": ["ok", "diverged", "failed", "ok", "ok"]})
    taken = draws_taken(table, planned)
    # a failed draw has not been taken; a run outside the plan (jsb/gru/old) does not count
    assert taken.to_dict() == {"jsb/gru": "2 of 3", "jsb/tanh": "1 of 2"}
    assert draws_taken(table.iloc[:0], planned).to_dict() == {"jsb/gru": "0 of 3", "jsb/tanh": "0 of 2"}


def test_a_recipe_probe_sits_beside_the_campaigns_best_run_of_its_cell():
    import pandas as pd

    from rnnlab.campaigns.results import PROBE_COLUMNS, probe_beside_best

    def row(point, cell, valid, test, status="ok", **knobs):
        return dict(point=point, dataset=point.split("/")[0], cell=cell, status=status, best_valid=valid,
                    test_nll=test, test_nll_pieces=test - 0.6, train_nll=test - 0.2, epochs_run=100, best_epoch=90,
                    lr=knobs.get("lr", 1.73e-3), forget_bias=knobs.get("forget_bias"))

    campaign = pd.DataFrame([
        row("musedata/lstm/lr=0.00173", "lstm_peephole", 9.01, 8.86), row("musedata/lstm/lr=0.0015", "lstm_peephole",
                                                                          9.19, 9.01),
        row("musedata/gru/lr=0.0015", "gru", 7.23, 7.30), row("jsb/lstm/lr=0.00173", "lstm_peephole", 8.40, 8.46)])
    probe = pd.DataFrame([row("musedata/lstm-fb1/seed=0", "lstm_peephole", 8.50, 8.40, forget_bias=1.0),
                          row("musedata/lstm-lr5e-3/seed=0", "lstm_peephole", 9.30, 9.20, lr=5e-3),
                          row("musedata/lstm-crashed/seed=0", "lstm_peephole", 99.0, 99.0, status="failed")])
    table = probe_beside_best(campaign, probe)
    assert tuple(table.columns) == PROBE_COLUMNS
    assert list(table.run) == ["best draw: musedata/gru/lr=0.0015", "best draw: musedata/lstm/lr=0.00173",
                               "lstm-fb1", "lstm-lr5e-3"]  # only the probed set; the failed run left out
    by_run = table.set_index("run")
    assert by_run.at["lstm-fb1", "valid_vs_best"] == pytest.approx(8.50 - 9.01)
    assert by_run.at["lstm-fb1", "test_vs_best"] == pytest.approx(8.40 - 8.86)
    assert by_run.at["lstm-lr5e-3", "test_vs_best"] == pytest.approx(9.20 - 8.86)
    assert by_run.at["best draw: musedata/lstm/lr=0.00173", "valid_vs_best"] == 0
    # a probe that swaps the cell is read against the cell it replaces
    plain = pd.DataFrame([row("musedata/lstm-plain/seed=0", "lstm", 7.34, 7.39)])
    assert pd.isna(probe_beside_best(campaign, plain).set_index("run").at["lstm-plain", "test_vs_best"])  # no lstm
    against = probe_beside_best(campaign, plain, against="lstm_peephole").set_index("run")
    assert against.at["lstm-plain", "test_vs_best"] == pytest.approx(7.39 - 8.86)
    assert against.at["best draw: musedata/gru/lr=0.0015", "valid_vs_best"] == pytest.approx(7.23 - 9.01)


# ------------------------------------------------------------------------- records that name no machine (issue 25)
def _machine_names(root: Path) -> list[str]:
    """Everything in the text files under ``root`` (JSON, CSV, logs, notes) that names the machine that wrote it:
    a string that looks like an absolute path, or a ``host``/``run_dir`` key in JSON."""
    found = []

    def keys(value, where):
        if isinstance(value, dict):
            found.extend(f"{where}: key {key!r}" for key in value if key in MACHINE_KEYS)
            for item in value.values():
                keys(item, where)
        elif isinstance(value, list):
            for item in value:
                keys(item, where)

    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".pt"):
        where = path.relative_to(root).as_posix()
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            found.extend(f"{where}:{number}: {match.group(0)!r}" for match in ABSOLUTE_PATH.finditer(line)
                         if not match.group(0).startswith(SYSTEM_PATHS))
        if path.suffix == ".json":
            keys(json.loads(text), where)
    return found


def test_no_committed_record_names_a_machine():
    assert (RESULTS / "pascanu2014.csv").exists() and list(RESULTS.glob("**/summary.json"))
    found = _machine_names(RESULTS)
    assert not found, f"{len(found)} machine-specific strings in results/ (relative paths only):\n" + "\n".join(
        found[:20])


def test_the_machine_check_finds_what_records_held_before(tmp_path):
    # lines copied from the records as committed before they were made portable (results/pascanu2014 at 64c8605)
    run = tmp_path / "pascanu2014" / "jsb" / "dots" / "seed=0"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({
        "data_source": "canonical:/work/shared/data/polyphonic/JSB Chorales.pickle", "host": "vm",
        "data_files": {"/work/shared/data/polyphonic/JSB Chorales.pickle": "69dc4c3e"},
        "run_dir": "/work/main/results/runs/pascanu2014/jsb/dots/seed=0"}, indent=2))
    (run / "config.json").write_text('{\n  "init_from": "/work/main/results/runs/pascanu2014/jsb/dts/seed=0"\n}\n')
    (run / "run.log").write_text("2026-11-30 10:09:53 initialised 9 of 13 parameters from "
                                 "/work/main/results/runs/pascanu2014/jsb/dts/seed=0 (lr x 0.1): levels.0.w\n")
    (tmp_path / "pascanu2014.csv").write_text(
        "point,dataset,data_origin,data_source\n"
        "jsb/dots/seed=0,jsb,canonical,canonical:/work/shared/data/polyphonic/JSB Chorales.pickle\n")
    (tmp_path / "notes.md").write_text("kept in ~/runs/x, C:\\Users\\me\\runs and /home/me/runs/x; read "
                                       "/dev/urandom\n")  # a system path is the same on every machine
    found = _machine_names(tmp_path)
    assert sum("key 'host'" in f for f in found) == 1 and sum("key 'run_dir'" in f for f in found) == 1
    for where, count in (("summary.json:", 3), ("config.json:", 1), ("run.log:", 1), ("pascanu2014.csv:", 1),
                         ("notes.md:", 3)):
        assert sum(f.startswith(f"pascanu2014/jsb/dots/seed=0/{where}") or f.startswith(where) for f in found
                   if "key" not in f) == count, (where, found)
    # what portable records say instead is not taken for a path
    (run / "summary.json").write_text(json.dumps({
        "data_source": "canonical jsb (polyphonic/JSB Chorales.pickle)", "init_from": "../../dts/seed=0",
        "data_files": {"polyphonic/JSB Chorales.pickle": "69dc4c3e"}, "schedule": "1/(1+(t-t0)/beta)",
        "unit": "nats/frame", "url": "https://example.org/a/b"}))
    for path in (run / "config.json", run / "run.log", tmp_path / "notes.md"):
        path.unlink()
    (tmp_path / "pascanu2014.csv").write_text("point,data_source,init_from\njsb/dots/seed=0,canonical jsb "
                                             "(polyphonic/JSB Chorales.pickle),jsb/dts/seed=0\n")
    assert _machine_names(tmp_path) == []


def test_committed_frames_per_s_is_each_runs_average():
    from rnnlab.train.portable import average_rate
    from rnnlab.train.runs import load_metrics

    tables = [t for t in sorted(RESULTS.glob("*.csv")) if (RESULTS / t.stem).is_dir()]
    checked = 0
    for table_path in tables:
        import pandas as pd

        table = pd.read_csv(table_path)
        if "frames_per_s" not in table:
            continue
        for point, frames_per_s in zip(table.point, table.frames_per_s, strict=True):
            run = RESULTS / table_path.stem / point
            average = average_rate(load_metrics(run).to_dict("records"))
            summary = json.loads((run / "summary.json").read_text())
            assert summary["tokens_per_s"] == average == frames_per_s, (table_path.name, point)
            checked += 1
    assert checked >= 170


def test_publish_makes_a_record_written_before_portable(tmp_path):
    """A store record from before (host, run_dir, canonical:<path>, absolute init_from and log paths, the last
    epoch's rate) is published naming no machine, its values otherwise as they were."""
    import pandas as pd

    from rnnlab.campaigns.results import publish

    store, elsewhere = tmp_path / "store", "/elsewhere/runs/camp"  # the machine that wrote it kept them there
    metrics = pd.DataFrame({"epoch": [1, 2, 3], "epoch_seconds": [10.0, 30.0, 20.0],
                            "tokens_per_s": [100.0, 50.0, 400.0], "wall_seconds": [10.0, 40.0, 60.0]})
    base = {"dataset": "jsb", "data_origin": "canonical", "data_loaded": "jsb", "data_paper_dataset": "jsb",
            "data_source": "canonical:/data/shared/polyphonic/JSB Chorales.pickle",
            "data_files": {"/data/shared/polyphonic/JSB Chorales.pickle": "ab" * 32}, "host": "vm",
            "status": "ok", "metric": "nll", "sizes": {"hidden": 8}, "epochs_run": 3, "best_valid": 8.25,
            "test": {"nll": 8.5}, "tokens_per_s": 400.0, "train_seconds": 60.0}
    for model, knobs in (("rnn", {}), ("srnn", {"arch": "srnn", "init_from": f"{elsewhere}/jsb/rnn/seed=0",
                                                "pretrained_lr_scale": 0.1})):
        run = store / "jsb" / model / "seed=0"
        run.mkdir(parents=True)
        (run / "config.json").write_text(TrainConfig(dataset="jsb", **knobs).to_json() + "\n")
        (run / "summary.json").write_text(json.dumps({**base, "run_dir": f"{elsewhere}/jsb/{model}/seed=0"}))
        metrics.to_csv(run / "metrics.csv", index=False)
        source = f" from {knobs['init_from']} (lr x 0.1)" if knobs else ""
        (run / "run.log").write_text(f"2026-11-30 10:09:53 started{source}\n2026-11-30 10:10:00 checkpoint "
                                     f"'{elsewhere}/jsb/{model}/seed=0/checkpoints/last.pt' is torn\n")
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    table = publish(store, tmp_path / "results" / "camp").set_index("point")
    out = tmp_path / "results" / "camp"
    assert not _machine_names(tmp_path / "results")
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before  # the store is left as it was
    average = (100 * 10 + 50 * 30 + 400 * 20) / 60
    for model in ("rnn", "srnn"):
        summary = json.loads((out / "jsb" / model / "seed=0" / "summary.json").read_text())
        assert summary == {**{k: v for k, v in base.items() if k != "host"}, "tokens_per_s": average,
                           "data_source": "canonical jsb (polyphonic/JSB Chorales.pickle)",
                           "data_files": {"polyphonic/JSB Chorales.pickle": "ab" * 32}}
        assert table.frames_per_s[f"jsb/{model}/seed=0"] == average
        assert table.data_source[f"jsb/{model}/seed=0"] == "canonical jsb (polyphonic/JSB Chorales.pickle)"
    child = out / "jsb" / "srnn" / "seed=0"
    assert json.loads((child / "config.json").read_text())["init_from"] == "../../rnn/seed=0"
    assert table.init_from["jsb/srnn/seed=0"] == "jsb/rnn/seed=0"
    log = (child / "run.log").read_text()
    assert " from ../../rnn/seed=0 (lr x 0.1)" in log and "checkpoint 'checkpoints/last.pt' is torn" in log
    from rnnlab.train.runs import read_config

    assert read_config(child).init_from == str((out / "jsb" / "rnn" / "seed=0").resolve())
    again = publish(tmp_path / "results" / "camp", tmp_path / "results" / "again")  # portable: unchanged
    assert (tmp_path / "results" / "again" / "jsb" / "srnn" / "seed=0" / "run.log").read_text() == log
    assert again.frames_per_s.tolist() == [average, average]
