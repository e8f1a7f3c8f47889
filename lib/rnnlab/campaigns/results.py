"""A paper's campaign as one table: one row per run, and our numbers beside the published ones.

``collect(root)`` reads every run folder under ``root`` (config.json + summary.json) into the columns
``results/<paper>.csv`` holds: where the run sits (``point``), the data (dataset, origin: canonical / stand-in /
fallback / generated, source, content sha256), the model
(arch, cell, sizes, parameters), the recipe's knobs, seed, epochs, status, best valid, the test metric under both
music conventions (``test_nll`` per frame, ``test_nll_pieces`` mean over pieces), the best model's training-set
NLL, train seconds, frames per second (the run's average) and the commit. ``beside_paper(table, paper)`` joins the
published numbers (``rnnlab.papers``) with the difference. Both work on committed results, so report notebooks need
no training.

Nothing published names the machine that ran it (``rnnlab.train.portable``): the table's data_source names the set
and its file (``canonical jsb (polyphonic/JSB Chorales.pickle)``), init_from the parent's point, and ``publish``
copies each record with init_from relative to the run's folder, run.log's paths relative to it, and a summary
without host or folder; a record written before that is rewritten so as it is read or copied (its frames per second
recomputed from its metrics.csv: such a summary held the last epoch's rate).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from rnnlab.data import Provenance
from rnnlab.papers import paper_results
from rnnlab.train.portable import (
    is_legacy_summary,
    portable_config,
    portable_log,
    portable_summary,
    resolve_init_from,
)
from rnnlab.train.runs import FINISHED

RECIPE_KNOBS = ("optimizer", "lr", "schedule", "decay_beta", "decay_start_patience", "clip", "weight_noise", "bptt",
                "batch_size", "init", "nonlinearity", "forget_bias", "dropout", "pretrained_lr_scale", "epochs",
                "patience")
COLUMNS = ("point", "dataset", "data_origin", "data_source", "data_sha256", "arch", "cell", "hidden",
           "transition_hidden", "output_hidden", "levels", "n_params", *RECIPE_KNOBS, "init_from", "seed", "epochs_run",
           "best_epoch", "status", "best_valid", "test_nll", "test_nll_pieces", "train_nll", "train_nll_pieces",
           "test_metric", "train_seconds", "frames_per_s", "commit")


def _read(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def collect(root: str | Path) -> pd.DataFrame:
    """One row per finished run folder under ``root`` (unreadable or unfinished folders are left out)."""
    root = Path(root)
    rows = []
    for summary_path in sorted(root.glob("**/summary.json")):
        run = summary_path.parent
        summary, config = _read(summary_path), _read(run / "config.json")
        if summary is None or config is None:
            continue
        summary, config = _portable_record(run, root, summary, config)
        test, train = summary.get("test") or {}, summary.get("train_eval") or {}
        metric = summary.get("metric", "nll")
        sizes = summary.get("sizes") or {}
        row = {
            "point": str(run.relative_to(root)), "dataset": config["dataset"],
            "data_origin": Provenance.from_record({**summary, "dataset": config["dataset"]}).origin,
            "data_source": summary.get("data_source"), "data_sha256": summary.get("data_sha256"),
            "arch": config["arch"], "cell": config["cell"],
            **{k: sizes.get(k) for k in ("hidden", "transition_hidden", "output_hidden", "levels")},
            "n_params": summary.get("n_params"), **{k: config.get(k) for k in RECIPE_KNOBS},
            "init_from": _relative(resolve_init_from(config.get("init_from") or "", run), root),
            "seed": config.get("seed"),
            "epochs_run": summary.get("epochs_run"), "best_epoch": summary.get("best_epoch"),
            "status": summary.get("status"),
            "best_valid": summary.get("best_valid"), "test_nll": test.get("nll"),
            "test_nll_pieces": test.get("nll_pieces"), "train_nll": train.get("nll"),
            "train_nll_pieces": train.get("nll_pieces"), "test_metric": test.get(metric),
            "train_seconds": summary.get("train_seconds"), "frames_per_s": summary.get("tokens_per_s"),
            "commit": summary.get("commit"),
        }
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _relative(path: str | None, root: Path) -> str:
    """A run folder as a point of the campaign in ``root`` (``jsb/dts/seed=0``); outside it, relative to it."""
    if not path:
        return ""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


def _written_in(run: Path, root: Path, summary: dict) -> tuple[Path, Path]:
    """The folder a record was written in and its campaign's folder, on the machine that wrote it: where it is now,
    or, for a summary written before records were portable, the ``run_dir`` it names (it may come from elsewhere)."""
    recorded = summary.get("run_dir")
    if not (is_legacy_summary(summary) and isinstance(recorded, str) and os.path.isabs(recorded)):
        return run.resolve(), root.resolve()
    depth = len(run.resolve().relative_to(root.resolve()).parts)
    folder = Path(recorded)
    return folder, folder.parents[depth - 1] if depth else folder


def _portable_record(run: Path, root: Path, summary: dict, config: dict) -> tuple[dict, dict]:
    """(summary, config) of the run in ``run`` as portable records hold them (``rnnlab.train.portable``)."""
    folder, _ = _written_in(run, root, summary)
    metrics = _metrics_rows(run) if is_legacy_summary(summary) else None
    return portable_summary(summary, metrics), portable_config(config, folder)


def _metrics_rows(run: Path) -> list[dict] | None:
    """The rows of a run's metrics.csv; None without one (or an empty one)."""
    try:
        table = pd.read_csv(run / "metrics.csv")  # pandas reads floats back exactly as written
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return None
    return table.to_dict("records") if {"tokens_per_s", "epoch_seconds"} <= set(table.columns) else None


def beside_paper(table: pd.DataFrame, paper: str, split: str = "test") -> pd.DataFrame:
    """Our runs joined with ``paper``'s published numbers for the same dataset, arch and cell.

    Columns: dataset, arch, cell, point, ours (the paper's metric; music: per-frame NLL), ours per piece (music),
    paper, difference (ours − paper). Rows of the paper without a run of ours are kept, with empty ours."""
    published = paper_results()
    published = published[(published.paper == paper) & (published.split == split) & (published.variant.isin(
        ["", "best of search"]))]
    ours = table[table.status == "ok"]
    value = ours[f"{split}_nll"]
    if split == "test":  # non-music metrics (bpc, ppl, accuracy) live in test_metric
        value = value.astype(float).combine_first(ours["test_metric"].astype(float))
    ours = ours.assign(ours=value.astype(float), **{"ours per piece": ours[f"{split}_nll_pieces"].astype(float)})
    joined = published.merge(ours[["dataset", "arch", "cell", "point", "ours", "ours per piece"]],
                             on=["dataset", "arch", "cell"], how="left")
    joined = joined.drop(columns=["paper"]).rename(columns={"value": "paper"})
    joined["difference"] = joined["ours"] - joined["paper"]
    return joined[["table", "dataset", "arch", "cell", "metric", "point", "ours", "ours per piece", "paper",
                   "difference"]].reset_index(drop=True)


PUBLISHED_FILES = ("config.json", "summary.json", "metrics.csv", "run.log")
MAX_CURVE_ROWS = 1000  # per-update curve rows kept per published run
MAX_CHECKPOINT_BYTES = 4_000_000  # a best.pt larger than this is not copied into the repository


def binned_updates(updates: pd.DataFrame, max_rows: int = MAX_CURVE_ROWS) -> pd.DataFrame:
    """The per-update table in at most ``max_rows`` consecutive bins: last update, last wall second, mean loss, mean
    and max gradient norm, clipped fraction, last lr (what a per-update / per-second curve needs)."""
    if updates.empty:
        return updates
    size = -(-len(updates) // max_rows)
    bins = updates.groupby(pd.RangeIndex(len(updates)) // size)
    return pd.DataFrame({"update": bins["update"].last(), "epoch": bins["epoch"].last(),
                         "wall_seconds": bins["wall_seconds"].last(), "loss": bins["loss"].mean(),
                         "grad_norm": bins["grad_norm"].mean(), "grad_norm_max": bins["grad_norm"].max(),
                         "clipped": bins["clipped"].mean(), "lr": bins["lr"].last(),
                         "updates_in_bin": bins["update"].count()})


def point_group(points: pd.Series) -> pd.Series:
    """Each point's group: the point without its last part (``jsb/gru`` for ``jsb/gru/lr=0.0015``), i.e. the same
    model on the same set across draws or seeds."""
    return points.map(lambda point: point.rpartition("/")[0])  # (str.rpartition loses its columns when empty)


def best_of_groups(table: pd.DataFrame) -> set[str]:
    """The points that have the lowest best-valid of their group (a point's group is the point without its last part,
    e.g. ``jsb/gru`` for ``jsb/gru/lr=0.0015``); runs that did not end ok never count."""
    ok = table[(table.status == "ok") & table.best_valid.notna()]
    if ok.empty:
        return set()
    return set(ok.loc[ok.groupby(point_group(ok.point)).best_valid.idxmin(), "point"])


def draws_taken(table: pd.DataFrame, planned: list[str]) -> pd.Series:
    """For each group of ``planned`` (a spec's point names, e.g. ``[p.name for p in expand(spec)]``), how many of its
    points have a finished run in ``table``, as "k of n": a best-of-draws result is only the best of the draws taken.
    Ok and diverged runs count (a diverged draw was taken and lost); runs not in ``planned`` do not."""
    planned_points = pd.Series(planned, dtype=object)
    finished = set(table.loc[table.status.isin(FINISHED), "point"])
    taken = planned_points.isin(finished).groupby(point_group(planned_points), sort=False)
    return taken.sum().astype(int).astype(str) + " of " + taken.size().astype(str)


def seed_spread(campaign: pd.DataFrame, seeds: pd.DataFrame) -> pd.DataFrame:
    """How far the seed moves each winner of a best-of-draws campaign: per group (``jsb/gru``), the campaign's
    winning run together with the reruns of that group under other seeds (``jsb/gru/seed=1``, ...; a seed study such
    as experiments/chung2014_seeds.json); groups without a rerun and runs that did not end ok are left out. Columns:
    group, dataset, cell, runs, the test NLL of the winner, mean, sd (n − 1), min and max over all runs, and the mean
    per-piece NLL."""
    reruns = seeds[seeds.status == "ok"].assign(group=lambda t: point_group(t.point))
    winners = campaign[campaign.point.isin(best_of_groups(campaign))].assign(group=lambda t: point_group(t.point))
    winners = winners[winners.group.isin(set(reruns.group))]
    runs = pd.concat([winners, reruns], ignore_index=True)
    winner = winners.set_index("group").test_nll
    table = runs.groupby("group", sort=False).agg(
        dataset=("dataset", "first"), cell=("cell", "first"), runs=("test_nll", "size"),
        mean=("test_nll", "mean"), sd=("test_nll", "std"), min=("test_nll", "min"), max=("test_nll", "max"),
        mean_per_piece=("test_nll_pieces", "mean")).reset_index()
    table.insert(4, "winner", table.group.map(winner))
    return table


PROBE_COLUMNS = ("dataset", "cell", "run", "lr", "forget_bias", "epochs_run", "best_epoch", "best_valid",
                 "test_nll", "test_nll_pieces", "train_nll", "valid_vs_best", "test_vs_best")


def probe_beside_best(campaign: pd.DataFrame, probe: pd.DataFrame, against: str | None = None) -> pd.DataFrame:
    """A recipe probe beside the campaign it varies (e.g. experiments/chung2014_lstm_probe.json against
    chung2014): for every dataset the probe ran on, each cell's best campaign run (best valid among its draws, as
    the paper selects), then every probe run that ended ok, named by its model (``lstm-fb1``). ``valid_vs_best``
    and ``test_vs_best`` are a row's best valid and test NLL minus those of the campaign's best run of cell
    ``against`` on the same dataset (default: the row's own cell; negative: better). A probe that also changes the
    cell (an LSTM without peepholes) is read against the cell it replaces with ``against="lstm_peephole"``.
    Columns: ``PROBE_COLUMNS``."""
    ok = probe[probe.status == "ok"]
    campaign = campaign[campaign.dataset.isin(set(ok.dataset))]
    best = campaign[campaign.point.isin(best_of_groups(campaign))].assign(run=lambda t: "best draw: " + t.point)
    runs = ok.assign(run=ok.point.map(lambda point: point.split("/")[1]))
    table = pd.concat([best, runs], ignore_index=True)
    reference = best.set_index(["dataset", "cell"])
    keys = [(row.dataset, against or row.cell) for row in table.itertuples()]
    for column, value in (("valid_vs_best", "best_valid"), ("test_vs_best", "test_nll")):
        table[column] = [own - reference.at[key, value] if key in reference.index else float("nan")
                         for own, key in zip(table[value], keys, strict=True)]
    order = {dataset: i for i, dataset in enumerate(dict.fromkeys(ok.dataset))}
    table = table.sort_values(["dataset", "cell"], key=lambda c: c.map(order) if c.name == "dataset" else c,
                              kind="stable")
    return table[list(PROBE_COLUMNS)].reset_index(drop=True)


def publish(root: str | Path, out: str | Path, checkpoints_for: tuple[str, ...] = ("jsb",)) -> pd.DataFrame:
    """Copy a campaign's small files from the run store ``root`` into the repository folder ``out``.

    ``out/<point>/`` gets config.json, summary.json, metrics.csv, run.log, ``updates_binned.csv`` (at most
    ``MAX_CURVE_ROWS`` rows) and the best checkpoint (when small) of two kinds of run: for the datasets in
    ``checkpoints_for``, the best run of each group (the point without its last part: the best learning-rate draw,
    the best seed), so the notebooks can look inside it; and, on every dataset, each parent that another point of
    the sweep starts from (the ``spec.json`` the sweep keeps in ``root``), so that a child can run from the published
    records on another machine. ``out`` + ".csv" gets the ``collect`` table and ``out/spec.json`` the spec.
    Returns that table. Finished runs only; re-running updates them.

    A run another process is writing right now (an extension, a resume, or a rerun from scratch that has no summary
    yet: its lock is held) is left as it was published, files and row, or left out if it never was: its summary and
    its metrics would come from different stages. So is a run whose extension was killed before it ended (its
    metrics.csv has more epochs than its summary.json: resuming it finishes the extension). Their points are in the
    returned table's ``attrs["being_written"]`` and ``attrs["extension_interrupted"]``."""
    import json
    import shutil

    from rnnlab.campaigns.spec import SPEC_FILE, parent_points
    from rnnlab.train.lock import is_locked

    root, out = Path(root), Path(out)
    table = collect(root)
    csv = out.with_suffix(".csv")
    before = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=list(COLUMNS))
    points = sorted(set(table.point) | set(before.point), key=lambda point: Path(point).parts)  # collect's order
    being_written = [point for point in points if is_locked(root / point)]
    epochs_run = dict(zip(table.point, table.epochs_run, strict=True))
    interrupted = [point for point in points if point not in being_written and pd.notna(epochs_run.get(point))
                   and _metrics_epochs(root / point) > epochs_run[point]]
    busy = being_written + interrupted
    if busy:
        rows = pd.concat([table[~table.point.isin(busy)], before[before.point.isin(busy)]]).set_index("point")
        table = rows.reindex([p for p in points if p in rows.index]).reset_index()[list(COLUMNS)]
    best_points = best_of_groups(table)
    parents: set[str] = set()
    if (root / SPEC_FILE).exists():
        parents = parent_points(json.loads((root / SPEC_FILE).read_text()))
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / SPEC_FILE, out / SPEC_FILE)
    for point, dataset, status in zip(table.point, table.dataset, table.status, strict=True):
        if point in busy:
            continue
        source, target = root / point, out / point
        target.mkdir(parents=True, exist_ok=True)
        for name in PUBLISHED_FILES:
            if (source / name).exists():
                shutil.copyfile(source / name, target / name)
        make_portable(source, root, target)
        if (source / "updates.csv").exists():
            binned_updates(pd.read_csv(source / "updates.csv")).to_csv(target / "updates_binned.csv", index=False)
        best = source / "checkpoints" / "best.pt"
        shipped = target / "checkpoints" / "best.pt"
        wanted = (dataset in checkpoints_for and point in best_points) or (point in parents and status == "ok")
        if wanted and best.exists() and best.stat().st_size <= MAX_CHECKPOINT_BYTES:
            shipped.parent.mkdir(exist_ok=True)
            shutil.copyfile(best, shipped)
        elif shipped.exists():  # no longer the best of its group, nor a finished parent
            shipped.unlink()
    table.to_csv(out.with_suffix(".csv"), index=False)
    table.attrs["being_written"], table.attrs["extension_interrupted"] = being_written, interrupted
    return table


def make_portable(run: str | Path, root: str | Path, target: str | Path | None = None) -> list[str]:
    """Rewrite the record of the run in ``run`` (a point of the campaign in ``root``), or its copy in ``target``, so
    that it names no machine (``rnnlab.train.portable``): summary.json (no host or folder, portable data fields,
    an old summary's frames per second recomputed from metrics.csv), config.json (init_from relative to the run)
    and run.log (paths relative to the run). A file already portable is left as it is; returns the names of the
    files rewritten. ``publish`` applies it to every copy; scripts/migrate_records_portable.py applied it once to
    the committed results/."""
    from rnnlab.train.runs import atomic_write_json, atomic_write_text

    run, root = Path(run), Path(root)
    target = Path(target) if target is not None else run
    summary, config = _read(target / "summary.json"), _read(target / "config.json")
    if summary is None or config is None:
        return []
    folder, campaign = _written_in(run, root, summary)
    new_summary, new_config = _portable_record(run, root, summary, config)
    rewritten = []
    if not _same(new_summary, summary):
        atomic_write_json(target / "summary.json", new_summary)
        rewritten.append("summary.json")
    if not _same(new_config, config):
        atomic_write_json(target / "config.json", new_config)
        rewritten.append("config.json")
    log = target / "run.log"
    if log.exists():
        text = log.read_text()
        portable = portable_log(text, folder, campaign)
        if portable != text:
            atomic_write_text(log, portable)
            rewritten.append("run.log")
    return rewritten


def _same(a: dict, b: dict) -> bool:
    """Equal as JSON (a NaN equals itself)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _metrics_epochs(run: Path) -> int:
    """Epochs in a run's metrics.csv (one row each), 0 without one."""
    try:
        with open(run / "metrics.csv") as metrics:
            return max(sum(1 for line in metrics if line.strip()) - 1, 0)
    except FileNotFoundError:
        return 0
